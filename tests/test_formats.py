"""The ``--to`` file formats as objects (``okta_magic.frames.formats``): one per format, found by suffix, and a
suffix no format has is refused before anything is written."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from okta_magic.frames import formats
from okta_magic.frames.formats import FORMATS, Csv, FileFormat, format_for
from okta_magic.frames.output import Output
from okta_magic.frames.tofile import FileSink, check_continuable, last_events

PAGES = [
    [{"id": "00u1", "status": "ACTIVE", "profile": {"login": "ann@example.com"}}],
    [{"id": "00u2", "status": "STAGED", "profile": {"login": "bob@example.com", "costCenter": "7"}}],
]


class Tsv(Csv):
    """Tab-separated values: the one class a new format takes (a CSV with another delimiter)."""

    name, suffixes, described = "tsv", (".tsv",), "tab-separated text"

    class _Writer(Csv._Writer):
        def __init__(self, out: Output, schema: list[str]) -> None:
            self.text = io.TextIOWrapper(io.BufferedWriter(out), encoding="utf-8", newline="")
            self.schema = schema
            csv.writer(self.text, delimiter="\t").writerow(schema)

        def write(self, data: pd.DataFrame) -> None:
            data.reindex(columns=self.schema).to_csv(self.text, header=False, index=False, sep="\t")

    def open(self, out: Output, schema: list[str]) -> Tsv._Writer:
        return Tsv._Writer(out, schema)

    def read_schema(self, path: Path) -> list[str] | None:
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f, delimiter="\t"), None)

    def read_part(self, source: Path | bytes, start: int = 0) -> pd.DataFrame | None:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()[start:]
        return pd.read_csv(io.BytesIO(data), sep="\t") if data.strip() else None

    def merge(self, parts: list[Path], target: Path, order: formats.Order) -> None:
        frame = pd.concat([pd.read_csv(p, sep="\t", dtype=str) for p in parts], ignore_index=True)
        frame[order(frame.columns)].to_csv(target, sep="\t", index=False)


def test_every_suffix_has_one_format_object_with_a_writer_and_a_reader() -> None:
    assert {s: f.name for s, f in FORMATS.items()} == {
        ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
    for fmt in FORMATS.values():
        assert type(fmt).open is not FileFormat.open and type(fmt).read_part is not FileFormat.read_part
    assert format_for("Rows.PARQUET") is format_for("rows.pq")


@pytest.mark.parametrize("path", ["rows.xlsx", "rows", "rows.parquet.bak"])
def test_a_suffix_no_format_has_is_refused_and_nothing_is_written(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match=r"\.parquet, \.csv or \.jsonl"):
        FileSink(tmp_path / path, "users")
    with pytest.raises(ValueError, match="suffix"):
        last_events(tmp_path / path)
    with pytest.raises(ValueError, match="suffix"):
        check_continuable(tmp_path / path)
    assert list(tmp_path.iterdir()) == []


def test_a_new_format_is_one_class_the_sink_writes_without_naming_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FORMATS, ".tsv", Tsv())
    target = tmp_path / "users.tsv"
    sink = FileSink(target, "users", batch_pages=1)  # a new column on the second page: a second part, then merged
    for page in PAGES:
        sink.add_page(page)
    written = sink.close()

    back = pd.read_csv(target, sep="\t", dtype=str)
    assert written.rows == 2 and list(back["id"]) == ["00u1", "00u2"]
    assert list(back["profile.costCenter"].fillna("")) == ["", "7"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.tsv"]  # the parts are gone
    assert "tsv" in str(pytest.raises(ValueError, format_for, "rows.xlsx").value)


def test_a_format_without_a_writer_or_a_reader_cannot_be_made() -> None:
    class Unwritten(FileFormat):  # no open, read_part, columns or events: it would fall through to nothing
        name, suffixes = "xlsx", (".xlsx",)

    with pytest.raises(TypeError, match="abstract"):
        Unwritten()  # type: ignore[abstract]
    with pytest.raises(ValueError, match="suffix"):
        format_for("rows.xlsx")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_an_append_leaves_out_the_events_of_the_files_last_second(tmp_path: Path, suffix: str) -> None:
    # An append asks for since = the file's last instant; a server whose since is a millisecond coarse
    # (as the sandbox's once was) sends back the events just before it too, which must not be written twice.
    events = [{"uuid": u, "published": p, "eventType": "user.session.start"} for u, p in [
        ("old", "2026-12-01T10:00:00.100Z"), ("near", "2026-12-01T10:00:01.050Z"),
        ("ms-before", "2026-12-01T10:00:01.197Z"), ("last-a", "2026-12-01T10:00:01.198Z"),
        ("last-b", "2026-12-01T10:00:01.198Z")]]
    target = tmp_path / f"logs{suffix}"
    sink = FileSink(target, "logs", batch_pages=1)
    for event in events:
        sink.add_page([event])
    sink.close()
    published, uuids = last_events(target)
    assert published == "2026-12-01T10:00:01.198Z"
    assert uuids == {"near", "ms-before", "last-a", "last-b"}
