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
