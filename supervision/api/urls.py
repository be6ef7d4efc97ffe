from django.urls import path
from rest_framework.routers import DefaultRouter

from supervision.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("units", views.UnitViewSet, basename="unit")
router.register("users", views.UserViewSet, basename="user")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("instructions", views.InstructionViewSet, basename="instruction")
router.register("items", views.ItemViewSet, basename="item")
router.register("requests", views.ItemRequestViewSet, basename="request")
router.register("attachments", views.AttachmentViewSet, basename="attachment")
router.register("explanations", views.OverdueExplanationViewSet, basename="explanation")
router.register("notices", views.NoticeViewSet, basename="notice")
router.register("comments", views.LeaderCommentViewSet, basename="comment")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("intake/instructions", views.IntakeInstructionViewSet, basename="intake-instruction")
router.register("imports", views.ImportJobViewSet, basename="import")
router.register("export-approvals", views.ExportApprovalViewSet, basename="export-approval")
router.register("export-jobs", views.ExportJobViewSet, basename="export-job")
router.register("duplicate-suspicions", views.DuplicateSuspicionViewSet, basename="duplicate-suspicion")
router.register("item-links", views.ItemLinkViewSet, basename="item-link")
router.register("supervision-activities", views.SupervisionActivityViewSet, basename="supervision-activity")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    *router.urls,
    path("instructions/<int:pk>/assignment-sheet/", views.AssignmentSheetView.as_view(), name="instruction-assignment-sheet"),
    path("items/export/", views.ItemExportView.as_view(), name="item-export"),
    path("items/duplicate-check/", views.DuplicateCheckView.as_view(), name="item-duplicate-check"),
    path("stats/summary/", views.SummaryView.as_view(), name="stats-summary"),
    path("stats/units/", views.UnitRankingView.as_view(), name="stats-units"),
    path("stats/leaders/", views.LeaderRankingView.as_view(), name="stats-leaders"),
    path("stats/kinds/", views.KindRankingView.as_view(), name="stats-kinds"),
    path("stats/categories/", views.CategoryRankingView.as_view(), name="stats-categories"),
    path("stats/referrals/", views.ReferralOutcomeStatsView.as_view(), name="stats-referrals"),
    path("stats/burden/", views.BurdenView.as_view(), name="stats-burden"),
    path("stats/trend/", views.TrendView.as_view(), name="stats-trend"),
    path("stats/stages/", views.StagesView.as_view(), name="stats-stages"),
    path("stats/scores/", views.ScoresView.as_view(), name="stats-scores"),
    path("stats/quarterly-workbook/", views.QuarterlyWorkbookView.as_view(), name="stats-quarterly-workbook"),
]
