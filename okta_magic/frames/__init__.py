"""Turn Okta's JSON (users, groups, apps, System Log events ...) into pandas DataFrames.

This package is the only place that imports pandas (and pyarrow), and it does
so lazily, inside functions, so ``import okta_magic`` stays fast. It knows
nothing of HTTP: it reads pages (bytes and headers, :class:`~okta_magic.http.page.Page`).

Shape of a frame, chosen for analysis:

* nested objects become dotted columns (``profile.login``,
  ``credentials.provider.type``, ``actor.alternateId``), what Okta embeds too
  (``_embedded.stats.usersCount`` of ``/api/v1/groups?expand=stats``); ``_links``
  (navigation, at any depth) are dropped unless ``keep_links=True``, or unless
  an object holds nothing else;
* attribute names are kept exactly as Okta sent them: custom profile attributes
  are never renamed, recased or dropped, even when they first appear on a later
  page (earlier rows then hold missing values);
* Okta's ISO 8601 timestamps (``2026-01-02T03:04:05.000Z``) become timezone-aware
  UTC datetimes, nulls become ``NaT``;
* enumerations (``status``, ``type``, ``signOnMode``, ``eventType``,
  ``severity``, ``outcome.result``, ``credentials.provider.type`` ...) become
  categoricals; other strings use pandas' pyarrow-backed ``str`` dtype;
* arrays stay whole as list cells (``credentials.emails``, ``target``);
* columns come in a stable order, who each row is first (``shape.WHO_COLUMNS``: a user's
  ``profile.login``, names, ``profile.email``, ``status``; a group's ``profile.name``; an app's
  ``label`` and ``name``), then Okta's: ``id``, ``status``, the dates (``created``,
  ``activated``, ``statusChanged``, ``lastLogin``, ``lastUpdated``,
  ``passwordChanged``), then ``profile.*``, then the rest in order of appearance
  (System Log events: ``uuid``, ``published``, ``eventType`` ... then
  ``actor.*``, ``outcome.*``, ``target``, ``client.*``);
* ``readable.py`` adds what a person needs beside what Okta sent: custom attributes typed by the
  org's user schema (given as plain data), ``profile.managerLogin``, a System Log event's first
  target (``target.0.id``, ``target.0.type`` ...). See docs/frames.md.

A JSON *object* (one user, one group) becomes a :class:`pandas.Series` indexed
by the same dotted names: an analyst reads one record top to bottom, and
``record["profile.login"]`` works exactly as on a frame column.

:class:`FrameBuilder` (``builder.py``) is fed one page at a time, either as a flat Arrow table
read straight from the page's bytes by :class:`JsonPages` (``arrowjson.py``; the usual case: no
Python objects are made) or as parsed JSON (``add``), which is flattened into
per-column lists and converted at once. Either way each page becomes compact
Arrow arrays before the next one arrives; ``build()`` concatenates them. This
keeps a 100,000-user pull within a few hundred MB. :class:`PageReader` is the decoder a pull
hands its pages to; ``shape.py`` holds the column order, dates and enumerations per resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from okta_magic.http.page import Page, decode_json
from okta_magic.frames.arrowjson import JsonPages
from okta_magic.frames.builder import FrameBuilder
from okta_magic.frames.shape import empty_frame, is_enumeration, order_columns, resource_for_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FrameBuilder", "JsonPages", "PageReader", "to_frame", "to_record", "resource_for_path", "empty_frame",
           "is_enumeration", "order_columns"]


class PageReader:
    """Reads each page of a pull for the frame builder: a JSON array straight from bytes to an Arrow table,
    anything Arrow declines (and any object, scalar or text) through :func:`~okta_magic.http.page.decode_json`."""

    def __init__(self, *, keep_links: bool = False) -> None:
        self._arrays = JsonPages(keep_links=keep_links)

    def __call__(self, page: Page) -> Any:
        """The page's data: an Arrow table, parsed JSON, or None (empty or not JSON)."""
        if _arrow_page(page):
            table = self._arrays.read(page.body)
            if table is not None:
                return table
        return decode_json(page)

    def many(self, pages: Sequence[Page]) -> list[Any]:
        """Several pages' data, in order, as :meth:`__call__` gives each; read together when they allow it."""
        if not all(_arrow_page(page) for page in pages):
            return [self(page) for page in pages]
        tables = self._arrays.read_many([page.body for page in pages])
        return [decode_json(page) if table is None else table for page, table in zip(pages, tables, strict=True)]


def _arrow_page(page: Page) -> bool:
    """A page Arrow may read: a JSON array in UTF-8."""
    return page.body[:1] == b"[" and "json" in page.headers.get("content-type", "json") and page.utf8


def add_page(builder: FrameBuilder, data: Any) -> None:
    """Add one page's rows (an Arrow table from :class:`PageReader`, or a parsed JSON array) to ``builder``."""
    if isinstance(data, list):
        builder.add(data)
    else:
        builder.add_table(data)


def to_frame(records: Sequence[Any], resource: str | None = None, *, keep_links: bool = False,
             schema: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A JSON array (list of objects) as a DataFrame shaped for analysis (see the module docstring); ``schema``: the
    org's user schema (``GET /api/v1/meta/schemas/user/default``) to type a users frame by."""
    builder = FrameBuilder(resource, keep_links=keep_links, schema=schema, managers=True)
    builder.add(records)
    return builder.build()


def to_record(obj: dict[str, Any], resource: str | None = None, *, keep_links: bool = False,
              schema: Mapping[str, Any] | None = None) -> pd.Series:
    """A JSON object as a Series indexed by dotted attribute names (named after its ``id`` when it has one).

    An object that holds nothing but ``_links`` shows them: hidden, it would read as empty.
    """
    import pandas as pd

    frame = _one_row(obj, resource, keep_links=keep_links, schema=schema)
    if not len(frame.columns) and obj:
        frame = _one_row(obj, resource, keep_links=True, schema=schema)
    # Built value by value so NaT stays NaT (a row of mixed dtypes would turn it into NaN).
    values = {name: frame[name].iloc[0] for name in frame.columns}
    return pd.Series(values, dtype=object, name=obj.get("id", obj.get("uuid")))


def _one_row(obj: dict[str, Any], resource: str | None, *, keep_links: bool,
             schema: Mapping[str, Any] | None) -> pd.DataFrame:
    """One object as a frame of one row (no manager's login: the manager is not in a one-object answer)."""
    builder = FrameBuilder(resource, keep_links=keep_links, schema=schema)
    builder.add([obj])
    return builder.build()
