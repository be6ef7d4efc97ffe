"""The pages' forms, one module per capability (re-exported)."""

from supervision.web.forms.dashboard import DashboardFilterForm, LoginForm

__all__ = ["DashboardFilterForm", "LoginForm"]
