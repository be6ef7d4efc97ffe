"""The API's views, one module per capability (thin: parse, call one service or selector, render);
re-exported for supervision/api/urls.py.

- signin.py: sign-in, sign-out; people.py: units, users        - ledger.py: categories, instructions, items, requests, attachments
- accountability.py: explanations, notices - exports.py: the ledger export, export approvals and jobs
- imports.py: Excel import jobs            - intake.py: OA intake
- stats.py: figures                         - reports.py: the quarterly workbook
"""

from supervision.api.views.accountability import NoticeViewSet, OverdueExplanationViewSet
from supervision.api.views.burden import BurdenView, SupervisionActivityViewSet
from supervision.api.views.comments import LeaderCommentViewSet
from supervision.api.views.duplicates import DuplicateCheckView, DuplicateSuspicionViewSet, ItemLinkViewSet
from supervision.api.views.exports import ExportApprovalViewSet, ExportJobViewSet, ItemExportView
from supervision.api.views.imports import ImportJobViewSet
from supervision.api.views.intake import IntakeInstructionViewSet
from supervision.api.views.ledger import AttachmentViewSet, CategoryViewSet, InstructionViewSet, ItemRequestViewSet, ItemViewSet
from supervision.api.views.people import UnitViewSet, UserViewSet
from supervision.api.views.referrals import ReferralOutcomeStatsView, ReferralViewSet
from supervision.api.views.reports import QuarterlyWorkbookView
from supervision.api.views.sheets import AssignmentSheetView
from supervision.api.views.signin import LogoutAllView, LogoutView, TokenView
from supervision.api.views.stats import (
    CategoryRankingView,
    KindRankingView,
    LeaderRankingView,
    ScoresView,
    StagesView,
    SummaryView,
    TrendView,
    UnitRankingView,
)

__all__ = [
    "AssignmentSheetView",
    "BurdenView",
    "SupervisionActivityViewSet",
    "DuplicateCheckView",
    "DuplicateSuspicionViewSet",
    "ItemLinkViewSet",
    "AttachmentViewSet",
    "CategoryRankingView",
    "CategoryViewSet",
    "ExportApprovalViewSet",
    "ExportJobViewSet",
    "ImportJobViewSet",
    "InstructionViewSet",
    "IntakeInstructionViewSet",
    "ItemExportView",
    "ItemRequestViewSet",
    "ItemViewSet",
    "KindRankingView",
    "LeaderCommentViewSet",
    "LeaderRankingView",
    "LogoutAllView",
    "LogoutView",
    "NoticeViewSet",
    "OverdueExplanationViewSet",
    "QuarterlyWorkbookView",
    "ReferralOutcomeStatsView",
    "ReferralViewSet",
    "ScoresView",
    "StagesView",
    "SummaryView",
    "TokenView",
    "TrendView",
    "UnitRankingView",
    "UnitViewSet",
    "UserViewSet",
]
