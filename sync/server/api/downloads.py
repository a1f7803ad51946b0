"""A CSV export as an attachment download (the same headers for timesheets and interview scores)."""

from fastapi.responses import Response


def csv_download(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
