from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """?page=N&page_size=M, with page_size capped so no client can ask for the whole ledger."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
