"""Server-rendered pages for leaders: the 挂图作战 dashboard and its drill-down lists.

The figures come from supervision.stats (the same functions the /api/v1/stats/ views call) and
the lists from ItemFilterSet over the visibility rule (as /api/v1/items/), so a number on the
page, the API's number and the list behind it always agree."""
