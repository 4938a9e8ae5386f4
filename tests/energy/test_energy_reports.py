"""Monthly energy reports: the Report gathered from the fixture twin, its three renderings (HTML, XLSX, PDF) and
``lingang-twin energy report --format html|xlsx|pdf`` as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from energy_fixtures import BUILDING, CONFIG, DAY, DISTRICT, M_ELEC, M_WATER, OTHER, meter
from numpy.testing import assert_allclose

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.reports import FORMATS, fmt, monthly_report, to_html, to_pdf, to_xlsx

DB = tuple[Path, Twin]
MONTH = f"{DAY:%Y-%m}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lingang_twin.cli`` (a real process)."""
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_report_gathers_account_trend_ranking_and_basis(energy_db: DB) -> None:
    _, twin = energy_db
    report = monthly_report(twin, DISTRICT, MONTH, lang="zh", config=CONFIG)
    acc = report.account.to_dict("zh")
    assert_allclose(list(report.totals().values()), list(acc["totals"].values()))
    # The daily trend counts the account's main meters: its days add up to the month's consumption.
    for carrier, values in report.daily.items():
        assert len(values) == 31
        assert_allclose(sum(values), acc["carriers"][carrier]["consumption"])
    assert_allclose(report.daily["electricity"][1], 1000.0)  # all of it on 2026-03-02, sub-meter not added
    # No readings in February 2026 nor March 2025: not available, never zero or a made-up change.
    assert report.previous is None and report.last_year is None
    assert all(c["mom"] is None and c["yoy"] is None for c in report.comparison().values())
    assert [r["building"] for r in report.ranking] == [BUILDING, OTHER]
    assert_allclose([r["electricity_kwh"] for r in report.ranking], [1000.0, 0.0])
    assert report.basis["co2"]["factor_set"] == "shanghai-local-2022"
    assert {r["section"] for r in report.basis_rows()} >= {"standard_coal", "tariff"}


def test_month_on_month_with_data(energy_db: DB) -> None:
    _, twin = energy_db
    # The water meter (interval register) read 1 m³ an hour for a day in February: 24 m³ against March's 1,047.
    feb = DAY - timedelta(days=28)
    twin.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": feb + timedelta(hours=h),
                  "value": 1.0} for h in range(1, 25)])
    report = monthly_report(twin, M_WATER, MONTH, config=CONFIG)
    assert report.previous is not None and report.last_year is None
    assert_allclose(report.previous.carriers["water"].consumption, 24.0)
    assert_allclose(report.carrier_comparison("water")["mom"], 1047.0 / 24.0 - 1.0)
    assert_allclose(report.comparison()["kgce"]["mom"], 1047.0 / 24.0 - 1.0)
    assert report.comparison()["kgce"]["yoy"] is None


def test_bad_input(energy_db: DB) -> None:
    _, twin = energy_db
    with pytest.raises(ValidationError) as err:
        monthly_report(twin, M_ELEC, "2026-3")
    assert err.value.rule == "month-format"
    with pytest.raises(ValidationError) as err:
        monthly_report(twin, M_ELEC, MONTH, lang="fr")
    assert err.value.rule == "lang-unknown"


def test_html_zh_and_en(energy_db: DB) -> None:
    _, twin = energy_db
    zh = monthly_report(twin, DISTRICT, MONTH, lang="zh", config=CONFIG)
    page = to_html(zh)
    for value in zh.totals().values():
        assert fmt(value) in page
    labels = ("月度能耗报告", "综合能耗", "环比", "同比", "暂无", "建筑用电排名", "实验楼", "核算依据",
              "GB/T 2589-2020")
    for text in labels:
        assert text in page, text
    assert "<link" not in page and "<script" not in page and "http" not in page.split("</style>")[0]
    en = to_html(monthly_report(twin, DISTRICT, MONTH, lang="en", config=CONFIG))
    for text in ("Monthly energy report", "Month on month", "Year on year", "not available", "Electricity"):
        assert text in en, text
    assert "月度能耗报告" not in en


def test_xlsx_totals_equal_the_account(energy_db: DB, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _, twin = energy_db
    report = monthly_report(twin, DISTRICT, MONTH, lang="en", config=CONFIG)
    path = tmp_path / "r.xlsx"
    to_xlsx(report, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["summary", "carriers", "coverage", "daily", "ranking", "anomalies", "basis"]
    totals = report.account.to_dict()["totals"]
    summary = {row[0]: row[1:] for row in wb["summary"].iter_rows(values_only=True) if row and row[0]}
    assert_allclose([summary["Energy (kgce)"][0], summary["Emissions (kg CO₂)"][0], summary["Cost (CNY)"][0]],
                    [totals["kgce"], totals["kgco2"], totals["cost_cny"]])
    assert summary["Energy (kgce)"][1] is None  # previous month: not available, an empty cell
    carriers = list(wb["carriers"].iter_rows(values_only=True))
    total_row = carriers[-1]
    assert total_row[0] == "Total"
    assert_allclose(total_row[3:6], [totals["kgce"], totals["kgco2"], totals["cost_cny"]])
    elec = next(r for r in carriers if r[0] == "Electricity")
    assert_allclose(elec[1], 1000.0)
    daily = list(wb["daily"].iter_rows(values_only=True))
    assert len(daily) == 32
    ranking = list(wb["ranking"].iter_rows(values_only=True))
    assert ranking[1][1] == "实验楼" and ranking[1][2] == 1000.0


def test_pdf(energy_db: DB, tmp_path: Path) -> None:
    _, twin = energy_db
    report = monthly_report(twin, DISTRICT, MONTH, lang="zh", config=CONFIG)
    path = tmp_path / "r.pdf"
    to_pdf(report, path)
    assert path.read_bytes().startswith(b"%PDF")
    assert shutil.which("pdftotext"), "pdftotext missing: scripts/test.sh installs Debian's poppler-utils"
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for value in report.totals().values():
        assert fmt(value) in text, fmt(value)
    assert "月度能耗报告" in text and "暂无" in text


def test_cli_each_format(energy_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "energy.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    base = ("energy", "report", "--db", str(energy_file), "--scope", DISTRICT, "--month", MONTH, "--config",
            str(config), "--lang", "zh")
    for fmt_name in FORMATS:
        target = tmp_path / f"out.{fmt_name}"
        proc = cli(*base, "--format", fmt_name, "--out", str(target))
        assert proc.returncode == 0, proc.stderr
        assert target.stat().st_size > 1000
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")
    assert "月度能耗报告" in (tmp_path / "out.html").read_text(encoding="utf-8")
    # Default name: scope and month, in the working directory.
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", *base, "--format", "html"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"energy-test-{MONTH}.html").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_cli_bad_format_or_out_is_one_line_exit_2(energy_file: Path, tmp_path: Path) -> None:
    base = ("energy", "report", "--db", str(energy_file), "--scope", M_ELEC, "--month", MONTH)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = [
        (("--format", "docx"), "unknown format"),
        (("--format", "json", "--out", str(tmp_path / "r.json")), "only for --format html, xlsx or pdf"),
        (("--format", "pdf", "--out", str(tmp_path / "no" / "such" / "r.pdf")), "no such directory"),
        (("--format", "xlsx", "--out", str(tmp_path)), "is a directory"),
        (("--format", "html", "--month", "2026-13", "--out", str(tmp_path / "r.html")), "is not a month"),
    ]
    if os.geteuid() != 0:  # root writes anywhere
        cases.append((("--format", "html", "--out", str(locked / "r.html")), "not writable"))
    try:
        for extra, needle in cases:
            proc = cli(*base, *extra)
            assert proc.returncode == 2, (extra, proc.stdout, proc.stderr)
            assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error"), proc.stderr
            assert needle in proc.stderr, (needle, proc.stderr)
    finally:
        locked.chmod(0o700)
    assert not (tmp_path / "r.html").exists()



def test_report_lists_the_months_anomalies_in_every_format(energy_db: DB, tmp_path: Path) -> None:
    """A meter with a spike: the report carries check_meters' findings for the month and prints them in HTML,
    XLSX and PDF."""
    from openpyxl import load_workbook

    from lingang_twin.energy.quality import check_meters
    from lingang_twin.energy.reports import KIND_LABELS, to_html, to_pdf, to_xlsx

    _, twin = energy_db
    mid = "urn:ngsi-ld:Meter:lab-elec-noisy"
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh")])
    rows = [{"entity_id": mid, "attribute": "reading", "observed_at": DAY + timedelta(days=3, minutes=15 * k),
             "value": 10.0 + (k % 7) + (400.0 if k == 200 else 0.0)} for k in range(1, 4 * 24 * 4)]
    twin.append(rows)
    start, end = DAY.replace(day=1), DAY.replace(day=1) + timedelta(days=31)
    expected = check_meters(twin, BUILDING, start, end)
    assert any(f.kind == "spike" and f.entity_id == mid for f in expected)
    report = monthly_report(twin, BUILDING, MONTH, lang="en", config=CONFIG)
    assert [a["entity_id"] for a in report.anomalies] == [f.entity_id for f in expected]
    assert report.anomaly_counts()["spike"] >= 1
    assert report.to_dict()["anomaly_counts"] == report.anomaly_counts()
    html_text = to_html(report)
    assert "Meter anomalies" in html_text and "lab-elec-noisy" in html_text
    to_xlsx(report, tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx")["anomalies"]
    assert sheet.max_row == 1 + len(expected) and sheet.cell(2, 6).value == expected[0].entity_id
    zh = monthly_report(twin, BUILDING, MONTH, lang="zh", config=CONFIG)
    to_pdf(zh, tmp_path / "r.pdf")
    assert shutil.which("pdftotext"), "scripts/test.sh installs poppler-utils"
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    assert "计量异常" in text and KIND_LABELS["spike"][0] in text


# ------------------------------------------------------------------------------- charts, fonts, English names


def _english_names(twin: Twin) -> None:
    twin.patch(DISTRICT, properties={"nameEn": "Test District"})
    twin.patch(BUILDING, properties={"nameEn": "Lab Building"})


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_html_charts_draw_the_tables_figures(energy_db: DB) -> None:
    import re

    _, twin = energy_db
    report = monthly_report(twin, DISTRICT, MONTH, lang="en", config=CONFIG)
    page = to_html(report)
    charts = re.findall(r'<svg class="chart" data-chart="([^"]+)"', page)
    assert charts == [f"daily-{c}" for c in report.daily] + ["ranking"]

    def bars(chart: str) -> list[tuple[str, float]]:
        svg = page.split(f'data-chart="{chart}"', 1)[1].split("</svg>", 1)[0]
        return [(label, float(v)) for label, v in re.findall(r'data-label="([^"]*)" data-value="([^"]+)"', svg)]

    # The daily table, read back from the page: day → one cell per carrier, in the charts' order.
    table = {day: [_number(c) for c in cells.split("</td><td class=\"n\">")]
             for day, cells in re.findall(r'<tr><td>(\d{4}-\d{2}-\d{2})</td><td class="n">(.*?)</td></tr>', page)}
    assert len(table) == 31
    for k, carrier in enumerate(report.daily):
        drawn = bars(f"daily-{carrier}")
        assert [d for d, _ in drawn] == sorted(table)
        assert_allclose([v for _, v in drawn], [table[d][k] for d, _ in drawn], atol=0.005)
    assert dict(bars("daily-electricity"))[f"{DAY:%Y-%m-%d}"] == 1000.0  # the hand-built day
    ranking = re.findall(r'<tr><td class="n">(\d+)</td><td>([^<]+)</td><td class="n">([^<]+)</td>', page)
    assert [(name, v) for name, v in bars("ranking")] == [(name, pytest.approx(_number(v), abs=0.005))
                                                          for _, name, v in ranking]


def test_pdf_embeds_one_font_for_cjk_and_symbols_draws_charts_and_speaks_english(energy_db: DB,
                                                                                 tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.graphics.shapes import Drawing
    from reportlab.platypus import Table

    from lingang_twin.energy.reports import pdf_story

    _, twin = energy_db
    _english_names(twin)
    report = monthly_report(twin, DISTRICT, MONTH, lang="en", config=CONFIG)
    path = tmp_path / "en.pdf"
    to_pdf(report, path)
    assert shutil.which("pdftotext") and shutil.which("pdffonts"), "scripts/test.sh installs poppler-utils"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # The glyphs that came out as boxes: m³ (water), 10⁴ (the Shanghai factor's note), CO₂ — as text, not ASCII.
    for needle in ("m³", "10⁴", "CO₂", "Test District", "Lab Building", "Electricity per day",
                   "Top 2 buildings by electricity"):
        assert needle in text, needle
    assert "实验楼" not in text and "测试区" not in text  # --lang en: nameEn where the entity has one
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line and "TrueType" in line for line in fonts), fonts  # embedded, one family
    # The charts: one drawing per carrier and the ranking; their data are the table's figures.
    story = pdf_story(report)
    drawings = [f for f in story if isinstance(f, Drawing)]
    grids = [f for f in story if isinstance(f, Table) and any(isinstance(c, Drawing) for r in f._cellvalues
                                                               for c in r)]
    daily_charts = [c for g in grids for r in g._cellvalues for c in r if isinstance(c, Drawing)]
    assert len(daily_charts) == len(report.daily) and len(drawings) == 1  # the ranking stands alone
    tables = [f for f in story if isinstance(f, Table) and f not in grids]
    daily_table = next(t for t in tables if t._cellvalues[0][0].text == "Day")
    for k, chart in enumerate(daily_charts):
        column = [_number(row[k + 1].text) for row in daily_table._cellvalues[1:]]
        assert_allclose(chart.contents[0].data[0], column, atol=0.005)
    ranking_table = next(t for t in tables if t._cellvalues[0][0].text == "Rank")
    kwh = [_number(row[2].text) for row in ranking_table._cellvalues[1:]]
    assert_allclose(list(reversed(drawings[0].contents[0].data[0])), kwh, atol=0.005)  # largest drawn on top
    # And they are on the page: the chart colour #0b6e99 covers pixels of the rendered pages.
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, timeout=120)
    blue = 0
    for png in sorted(tmp_path.glob("page*.png")):
        rgb = np.asarray(Image.open(png).convert("RGB"), dtype=np.int64)
        blue += int(np.all(np.abs(rgb - np.array([11, 110, 153])) < 30, axis=-1).sum())
    assert blue > 200, blue


def test_xlsx_charts_read_the_sheets_cells(energy_db: DB, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _, twin = energy_db
    _english_names(twin)
    report = monthly_report(twin, DISTRICT, MONTH, lang="en", config=CONFIG)
    to_xlsx(report, tmp_path / "r.xlsx")
    wb = load_workbook(tmp_path / "r.xlsx")
    daily = wb["daily"]
    charts = daily._charts
    assert len(charts) == len(report.daily)
    for k, (carrier, chart) in enumerate(zip(report.daily, charts, strict=True)):
        col = chr(ord("B") + k)
        assert chart.series[0].val.numRef.f == f"'daily'!${col}$2:${col}$32"
        assert_allclose([daily[f"{col}{r}"].value for r in range(2, 33)], report.daily[carrier])
    ranking = wb["ranking"]
    (chart,) = ranking._charts
    assert chart.series[0].val.numRef.f == "'ranking'!$C$2:$C$3"
    assert [ranking[f"B{r}"].value for r in (2, 3)] == ["Lab Building", "加氢站"]  # no nameEn: its name
    coverage = list(wb["coverage"].iter_rows(values_only=True))
    assert coverage[1][:3] == ("Carrier", "Main meters", "Expected readings")


def test_report_font_fallback_and_choice() -> None:
    from lingang_twin.energy.reports.font import ReportFont, _load, report_font

    font = report_font()
    assert font.complete and font.path is not None  # scripts/test.sh installs fonts-wqy-microhei
    assert ReportFont("STSong-Light", None, False).text("m³ · 10⁴ kWh · CO₂") == "m3 · 10^4 kWh · CO2"
    assert font.text("m³") == "m³"
    assert _load("/etc/hostname") is None  # not a font
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if Path(dejavu).exists():
        assert _load(dejavu) is None  # a TrueType font without Chinese is not enough
