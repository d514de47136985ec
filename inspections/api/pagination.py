from typing import Any

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M`` with a ceiling, so one request cannot fetch a table.

    A page below 1, past the last one or not a number is a 404 ``not_found`` (DRF's
    answer); a ``page_size`` that is not a positive number gives the default size.
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Number of results to return per page (default {self.page_size or 'all'}, "
                    f"at most {self.max_page_size}: a larger size gives {self.max_page_size})."
                )
            else:
                parameter["description"] = "A page number (from 1); a page past the last one is a 404."
        return parameters
