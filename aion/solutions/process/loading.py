"""Robust loading of sensor logs (CSV with any separator or decimal comma, Excel, Parquet).

Nothing in a user's file makes the loader crash: bad timestamps, duplicated or unsorted rows,
text written into numeric columns ("Inp OutRange"), constant columns and gaps are repaired or
dropped, and each repair is written into the :class:`LoadReport`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from aion.solutions.process.errors import ProcessError
from aion.solutions.process.frame import LABEL_COLUMNS, ColumnIssue, LoadReport, SensorFrame

TIME_NAME = re.compile(r"(time|date|timestamp|datetime|시간|일시|날짜|시각)", re.IGNORECASE)
DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
MIN_NUMERIC_SHARE = 0.5


def _sniff_csv(text: str) -> tuple[str, str]:
    """Separator and decimal mark of a CSV sample."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    sample = "\n".join(lines)
    sep = ","
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {s: sample.count(s) for s in (";", "\t", "|", ",")}
        sep = max(counts, key=lambda s: counts[s]) if max(counts.values()) else ","
    decimal = "."
    if sep != ",":
        cells = [c for ln in lines[1:] for c in ln.split(sep)]
        if cells and sum(bool(DECIMAL_COMMA.match(c)) for c in cells) > 0.1 * len(cells):
            decimal = ","
    return sep, decimal


#: What the readers raise on a damaged file: a broken workbook's zip or XML (openpyxl raises
#: ``KeyError`` for a missing part, ``SyntaxError`` for bad XML), a malformed CSV, a bad Parquet.
READ_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    ImportError,
    KeyError,
    SyntaxError,
    zipfile.BadZipFile,
)


def read_table(path: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """Read a file into a raw string-typed DataFrame, choosing the reader by extension."""
    p = Path(path)
    if not p.exists():
        raise ProcessError(f"파일이 없습니다: {p} / File not found: {p}")
    ext = p.suffix.lower()
    try:
        if ext in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(p, dtype=object)
            fmt = "excel"
        elif ext in (".parquet", ".pq"):
            df = pd.read_parquet(p)
            fmt = "parquet"
        else:
            raw = p.read_bytes()
            text = ""
            for enc in ("utf-8-sig", "cp949", "latin-1"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            sep, decimal = _sniff_csv(text)
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=True)
            fmt = "csv"
            if report is not None:
                report.separator, report.decimal = sep, decimal
    except READ_ERRORS as e:
        raise ProcessError(f"파일을 읽을 수 없습니다: {p} ({e}) / Cannot read file: {p} ({e})") from e
    if report is not None:
        report.file_format = fmt
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _find_timestamp(df: pd.DataFrame, name: str | None) -> str | None:
    if name is not None:
        if name not in df.columns:
            raise ProcessError(
                f"시간 열이 없습니다: {name!r} (열: {list(df.columns)}) / "
                f"Timestamp column not found: {name!r} (columns: {list(df.columns)})"
            )
        return name
    candidates = [c for c in df.columns if TIME_NAME.search(c)] + list(df.columns[:2])
    for c in dict.fromkeys(candidates):
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            return c
        if pd.api.types.is_numeric_dtype(col):
            continue
        sample = col.dropna().astype(str).head(200)
        if len(sample) == 0 or sample.str.fullmatch(r"\s*-?[\d.,]+\s*").mean() > 0.5:
            continue
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.8:
            return c
    return None


def _to_numeric(col: pd.Series, decimal: str | None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(np.float64)
    s = col.astype(str).str.strip()
    if decimal == ",":
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce")


def frame_from_table(
    df: pd.DataFrame, report: LoadReport, timestamp_column: str | None = None
) -> SensorFrame:
    """Clean a raw table into a :class:`SensorFrame`, recording every repair in ``report``."""
    report.rows_read = len(df)
    ts_col = _find_timestamp(df, timestamp_column)
    report.timestamp_column = ts_col
    ts: pd.DatetimeIndex | None = None
    if ts_col is not None:
        parsed = pd.to_datetime(df[ts_col], errors="coerce", format="mixed")
        bad = int(parsed.isna().sum())
        if bad:
            report.bad_timestamps_dropped = bad
            report.note(f"시간을 읽을 수 없는 {bad}행을 제외함", f"Dropped {bad} rows with unreadable time")
        df = df.loc[parsed.notna()].drop(columns=[ts_col])
        ts = pd.DatetimeIndex(parsed[parsed.notna()])
    numeric: dict[str, pd.Series] = {}
    labels: dict[str, np.ndarray] = {}
    for c in df.columns:
        raw = df[c]
        present = raw.notna() & (raw.astype(str).str.strip() != "")
        num = _to_numeric(raw, report.decimal)
        n_present = int(present.sum())
        n_text = int((present & num.isna()).sum())
        if n_present == 0 or (n_present - n_text) < MIN_NUMERIC_SHARE * n_present:
            report.issues.append(
                ColumnIssue(
                    c,
                    "dropped",
                    "non_numeric",
                    n_text,
                    _examples(raw, num, present),
                    f"숫자가 아닌 열 제외: {c} / Dropped non-numeric column: {c}",
                )
            )
            continue
        if n_text:
            report.issues.append(
                ColumnIssue(
                    c,
                    "repaired",
                    "text_values",
                    n_text,
                    _examples(raw, num, present),
                    f"{c}: 글자 값 {n_text}개를 결측으로 처리 / {c}: {n_text} text values treated as missing",
                )
            )
        if c.lower() in LABEL_COLUMNS:
            labels[c] = num.fillna(0.0).to_numpy(dtype=np.float64)
            continue
        numeric[c] = num.reset_index(drop=True)
    table = pd.DataFrame(numeric)
    label_df = pd.DataFrame(labels)
    if ts is not None and len(table.columns) + len(label_df.columns):
        table.index = ts
        label_df.index = ts
        if not ts.is_monotonic_increasing:
            n_bad = int((np.diff(ts.asi8) < 0).sum())
            report.out_of_order_sorted = n_bad
            report.note(f"시간 순서가 뒤바뀐 {n_bad}곳을 정렬함", f"Sorted {n_bad} out-of-order timestamps")
            order = np.argsort(ts.asi8, kind="stable")
            table, label_df = table.iloc[order], label_df.iloc[order]
        dup = int(table.index.duplicated().sum())
        if dup:
            report.duplicate_timestamps_merged = dup
            report.note(f"중복된 시간 {dup}행을 평균으로 합침", f"Merged {dup} duplicated timestamps (mean)")
            table = table.groupby(level=0, sort=True).mean()
            label_df = label_df.groupby(level=0, sort=True).max()
    for c in list(table.columns):
        col = table[c]
        if col.notna().sum() == 0 or float(np.nanstd(col.to_numpy(dtype=np.float64))) == 0.0:
            report.issues.append(
                ColumnIssue(
                    c,
                    "dropped",
                    "constant",
                    int(len(col)),
                    [],
                    f"값이 변하지 않는 열 제외: {c} / Dropped constant column: {c}",
                )
            )
            table = table.drop(columns=[c])
    missing = int(table.isna().sum().sum())
    if missing:
        for c in table.columns:
            n = int(table[c].isna().sum())
            if n:
                report.issues.append(
                    ColumnIssue(
                        c,
                        "repaired",
                        "missing",
                        n,
                        [],
                        f"{c}: 빈 값 {n}개를 앞 값으로 채움 / {c}: filled {n} missing values",
                    )
                )
        table = table.ffill().bfill()
        report.missing_values_filled = missing
    if table.shape[1] == 0:
        raise ProcessError(
            "숫자 센서 열이 없습니다 / No numeric sensor columns found "
            f"(columns: {[i.column for i in report.issues]})"
        )
    report.rows_kept = len(table)
    report.sensors = [str(c) for c in table.columns]
    report.label_columns = list(labels)
    out_ts = pd.DatetimeIndex(table.index) if ts is not None else None
    lab = {k: label_df[k].to_numpy(dtype=np.float64) for k in label_df.columns}
    return SensorFrame(table.to_numpy(dtype=np.float64), report.sensors, out_ts, lab)


def _examples(raw: pd.Series, num: pd.Series, present: pd.Series) -> list[str]:
    bad = raw[present & num.isna()].astype(str)
    return list(dict.fromkeys(bad.head(50)))[:3]


def load_sensor_file(path: str | Path, timestamp_column: str | None = None) -> tuple[SensorFrame, LoadReport]:
    """Load any supported sensor file into a clean frame plus the report of what was repaired."""
    report = LoadReport(source=str(path), file_format="")
    df = read_table(path, report)
    return frame_from_table(df, report, timestamp_column), report
