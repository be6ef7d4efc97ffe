from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from supervision.web.forms.dashboard import LoginForm
from supervision.web.views import dashboard, item_actions, items, workbench
from supervision.web.views import instructions as instruction_views
from supervision.web.views import office as office_views
from supervision.web.views import referrals as referral_views

urlpatterns = [
    path("", workbench.workbench, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/items/", dashboard.item_list, name="dashboard-items"),
    path("dashboard/instructions/<int:pk>/", dashboard.instruction_detail, name="dashboard-instruction"),
    path("dashboard/instructions/options/", dashboard.instruction_options, name="dashboard-instruction-options"),
    path("items/", items.item_list, name="web-items"),
    path("items/<int:pk>/", items.item_detail, name="web-item"),
    path("items/<int:pk>/act/<slug:action>/", item_actions.item_act, name="web-item-act"),
    path("items/<int:pk>/comments/", item_actions.comment_add, name="web-item-comment"),
    path("items/<int:pk>/comments/<int:comment_pk>/read/", item_actions.comment_read, name="web-item-comment-read"),
    # 审批 (decide) by the office; 签字 / 退回 (endorse) by the unit's approver.
    path("items/<int:pk>/requests/<int:request_pk>/<slug:action>/", item_actions.request_act, name="web-request-act"),
    path(
        "items/<int:pk>/explanations/<int:explanation_pk>/<slug:action>/",
        item_actions.explanation_act,
        name="web-explanation-act",
    ),
    path("items/<int:pk>/referrals/<int:referral_pk>/<slug:action>/", item_actions.referral_act, name="web-referral-act"),
    path("items/<int:pk>/links/<int:link_pk>/<slug:action>/", item_actions.link_act, name="web-link-act"),
]

# Instructions (批示件登记 + 分解立项), the office's queues, referrals: supervision/web/views/
# instructions.py, office.py, referrals.py.
urlpatterns += [
    path("instructions/", instruction_views.instruction_list, name="web-instructions"),
    path("instructions/new/", instruction_views.instruction_new, name="web-instruction-new"),
    path("instructions/new/item-row/", instruction_views.item_row, name="web-instruction-item-row"),
    path("instructions/owners/", instruction_views.owner_options, name="web-instruction-owners"),
    path("instructions/workdays/", instruction_views.workday_preview, name="web-instruction-workdays"),
    path("instructions/duplicates/", instruction_views.duplicate_check, name="web-instruction-duplicates"),
    path("instructions/<int:pk>/", instruction_views.instruction_detail, name="web-instruction"),
    path("instructions/<int:pk>/edit/", instruction_views.instruction_edit, name="web-instruction-edit"),
    path("instructions/<int:pk>/sheet/", instruction_views.assignment_sheet_issue, name="web-instruction-sheet"),
    path(
        "instructions/<int:pk>/comments/<int:comment_pk>/read/",
        instruction_views.instruction_comment_read,
        name="web-instruction-comment-read",
    ),
    path("instructions/<int:pk>/decompose/", instruction_views.instruction_decompose, name="web-instruction-decompose"),
]
urlpatterns += [
    path("office/", RedirectView.as_view(pattern_name="web-office-requests", permanent=False), name="web-office"),
    path("office/approvals/", office_views.item_approval_queue, name="web-office-approvals"),
    path("office/approvals/<int:pk>/", office_views.item_approval_decide, name="web-office-approval-decide"),
    path("office/requests/", office_views.request_queue, name="web-office-requests"),
    path("office/requests/<int:pk>/decide/", office_views.request_decide, name="web-office-request-decide"),
    path("office/return-visits/", office_views.return_visit_queue, name="web-office-return-visits"),
    path("office/return-visits/<int:pk>/", office_views.return_visit_record, name="web-office-return-visit"),
    path("office/explanations/", office_views.explanation_queue, name="web-office-explanations"),
    path("office/explanations/<int:pk>/rule/", office_views.explanation_rule, name="web-office-explanation-rule"),
    path("office/duplicates/", office_views.suspicion_queue, name="web-office-duplicates"),
    path("office/duplicates/<int:pk>/decide/", office_views.suspicion_decide, name="web-office-duplicate-decide"),
    path("office/notices/", office_views.notice_queue, name="web-office-notices"),
    path("office/notices/new/", office_views.notice_draft, name="web-office-notice-draft"),
    path("office/notices/<int:pk>/issue/", office_views.notice_issue, name="web-office-notice-issue"),
    path("office/notices/<int:pk>/docx/", office_views.notice_download, name="web-office-notice-docx"),
    path("office/export-approvals/", office_views.export_approval_queue, name="web-office-export-approvals"),
    path("office/export-approvals/new/", office_views.export_approval_grant, name="web-office-export-approval-grant"),
    path(
        "office/export-approvals/<int:pk>/revoke/", office_views.export_approval_revoke, name="web-office-export-approval-revoke"
    ),
]
urlpatterns += [
    path("referrals/", referral_views.referral_list, name="web-referrals"),
    path("referrals/<int:pk>/", referral_views.referral_detail, name="web-referral"),
    path("referrals/<int:pk>/acknowledge/", referral_views.referral_acknowledge, name="web-referral-acknowledge"),
    path("referrals/<int:pk>/outcome/", referral_views.referral_outcome, name="web-referral-outcome"),
]
