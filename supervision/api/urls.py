from django.urls import path
from rest_framework.routers import DefaultRouter

from supervision.api import views_reports, views_stats
from supervision.api.views import AttachmentViewSet, CategoryViewSet, InstructionViewSet, ItemRequestViewSet, ItemViewSet
from supervision.api.views_accountability import NoticeViewSet, OverdueExplanationViewSet
from supervision.api.views_exports import ExportApprovalViewSet, ExportJobViewSet, ItemExportView
from supervision.api.views_imports import ImportJobViewSet
from supervision.api.views_intake import IntakeInstructionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("categories", CategoryViewSet, basename="category")
router.register("instructions", InstructionViewSet, basename="instruction")
router.register("items", ItemViewSet, basename="item")
router.register("requests", ItemRequestViewSet, basename="request")
router.register("attachments", AttachmentViewSet, basename="attachment")
router.register("explanations", OverdueExplanationViewSet, basename="explanation")
router.register("notices", NoticeViewSet, basename="notice")
router.register("intake/instructions", IntakeInstructionViewSet, basename="intake-instruction")
router.register("imports", ImportJobViewSet, basename="import")
router.register("export-approvals", ExportApprovalViewSet, basename="export-approval")
router.register("export-jobs", ExportJobViewSet, basename="export-job")

urlpatterns = router.urls + [
    path("items/export/", ItemExportView.as_view(), name="item-export"),
    path("stats/summary/", views_stats.SummaryView.as_view(), name="stats-summary"),
    path("stats/units/", views_stats.UnitRankingView.as_view(), name="stats-units"),
    path("stats/leaders/", views_stats.LeaderRankingView.as_view(), name="stats-leaders"),
    path("stats/kinds/", views_stats.KindRankingView.as_view(), name="stats-kinds"),
    path("stats/categories/", views_stats.CategoryRankingView.as_view(), name="stats-categories"),
    path("stats/trend/", views_stats.TrendView.as_view(), name="stats-trend"),
    path("stats/quarterly-workbook/", views_reports.QuarterlyWorkbookView.as_view(), name="stats-quarterly-workbook"),
]
