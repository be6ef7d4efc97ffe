"""The pages, one module per capability (re-exported for the URLconf)."""

from supervision.web.views.dashboard import dashboard, item_list

__all__ = ["dashboard", "item_list"]
