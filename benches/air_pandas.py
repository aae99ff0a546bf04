#!/usr/bin/env python3
"""Straightforward pandas implementation of `envwatch bench air`, for comparison.

Generates bit-for-bit the same readings as src/commands/bench/air.rs (splitmix64 hashes,
same float expressions), then computes the same thing: per station and local day the
24-h means (>= 20 valid hours), O3 max 1 h (>= 20 h) and MDA8 (17 windows ending
08:00..24:00, >= 6 of 8 hours each, >= 14 windows or MDA8 > 160), GB/T 8170 rounding,
IAQI with ceiling per HJ 633-2012/2026 (edition by date), daily AQI (7 / 6 indicators),
city means over valid non-control stations, city AQI, good-day ratios per month and year.
Prints a checksum line comparable to the Rust one and "pandas seconds: X" (computation
only, generation excluded).

Usage: python3 benches/air_pandas.py [--stations 200] [--days 365]
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

START_MS = 1_756_656_000_000  # 2025-09-01T00:00+08:00
PER_CITY = 20
POLLUTANTS = ["SO2", "NO2", "PM10", "CO", "O3", "PM2.5"]
DIURNAL = np.array([30, 25, 20, 18, 15, 15, 20, 30, 45, 60, 75, 88, 96, 100, 100, 95,
                    85, 70, 55, 45, 40, 35, 33, 31], dtype=np.float64)
M64 = np.uint64


def splitmix64(n):
    z = n + M64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> M64(30))) * M64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> M64(27))) * M64(0x94D049BB133111EB)
    return z ^ (z >> M64(31))


def unit(n):
    return (splitmix64(n) >> M64(11)).astype(np.float64) * (1.0 / float(1 << 53))


def generate(n_stations, days):
    hours = days * 24
    s = np.repeat(np.arange(n_stations, dtype=np.uint64), 6 * hours)
    p = np.tile(np.repeat(np.arange(6, dtype=np.uint64), hours), n_stations)
    h = np.tile(np.arange(hours, dtype=np.uint64), 6 * n_stations)
    idx = (s * M64(6) + p) * M64(hours) + h
    day = h // M64(24)
    hod = (h % M64(24)).astype(np.int64)
    city = s // M64(PER_CITY)
    keep = unit(idx + M64(1 << 50)) >= 0.03
    keep &= ~((hod < 12) & (unit(M64(1 << 51) + day * M64(256) + s) < 0.01))
    u = unit(idx)
    d = unit(M64(1 << 40) + day * M64(16) + city)
    v = np.select(
        [p == 0, p == 1, p == 2, p == 3, p == 4],
        [np.floor(3.0 + 15.0 * u),
         np.floor(15.0 + 50.0 * d + 30.0 * u),
         np.floor(20.0 + 140.0 * d + 40.0 * u),
         np.floor(3.0 + 10.0 * d + 5.0 * u) / 10.0,
         np.floor((20.0 + 180.0 * d) * DIURNAL[hod] / 100.0 + 20.0 * u)],
        np.floor(10.0 + 90.0 * d + 30.0 * u))
    flag = np.where(unit(idx + M64(1 << 52)) < 0.01, "M", "N")
    codes = np.array([f"S{i:04d}" for i in range(n_stations)])
    df = pd.DataFrame({
        "station": codes[s[keep].astype(np.int64)],
        "parameter": np.array(POLLUTANTS)[p[keep].astype(np.int64)],
        "time": pd.to_datetime(START_MS + h[keep].astype(np.int64) * 3_600_000, unit="ms", utc=True),
        "value": v[keep],
        "flag": flag[keep],
    })
    stations = pd.DataFrame({
        "station": codes,
        "city": [f"C{i // PER_CITY:02d}" for i in range(n_stations)],
        "control": [i % PER_CITY == 0 for i in range(n_stations)],
    })
    return df, stations


# --- HJ 633 tables (IAQI rows 0,50,100,150,200,300,400,500), CO in 0.1 mg/m3 units.
ROWS = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=np.int64)
TABLES = {
    "SO2_24h": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "NO2_24h": [0, 40, 80, 180, 280, 565, 750, 940],
    "PM10_24h": {2012: [0, 50, 150, 250, 350, 420, 500, 600], 2026: [0, 50, 120, 250, 350, 420, 500, 600]},
    "CO_24h": [0, 20, 40, 140, 240, 360, 480, 600],
    "PM2.5_24h": {2012: [0, 35, 75, 115, 150, 250, 350, 500], 2026: [0, 35, 60, 115, 150, 250, 350, 500]},
    "O3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "O3_8h": [0, 100, 160, 215, 265, 800],
}
DECIMALS = {"CO_24h": 1}


def gbt8170(x, decimals):
    """Round half to even only on an exact 5 (within float noise), else half up."""
    s = x * (10.0 ** decimals)
    fl = np.floor(s)
    frac = s - fl
    half = np.abs(frac - 0.5) < 1e-6
    up = (frac > 0.5) & ~half
    even_up = half & (np.mod(fl, 2) == 1)
    return fl + (up | even_up)


def iaqi(units, table):
    """Integer IAQI with ceiling; NaN stays NaN; above the top row: 500 (caller handles specials)."""
    bp = np.array(table, dtype=np.float64)
    out = np.full(units.shape, np.nan)
    ok = ~np.isnan(units)
    u = units[ok]
    seg = np.clip(np.searchsorted(bp, u, side="left") - 1, 0, len(bp) - 2)
    lo, hi = bp[seg], bp[seg + 1]
    ilo, ihi = ROWS[seg], ROWS[seg + 1]
    num = (ihi - ilo) * (u - lo)
    den = hi - lo
    val = ilo + np.ceil(num / den - 1e-9)
    val = np.where(u > bp[-1], 500.0, val)
    out[ok] = val
    return out


def aqi_frame(values, is2026):
    """values: DataFrame with indicator columns (raw means); returns (aqi, complete)."""
    subs = {}
    for ind, table in TABLES.items():
        units = gbt8170(values[ind].to_numpy(), DECIMALS.get(ind, 0))
        if isinstance(table, dict):
            v12, v26 = iaqi(units, table[2012]), iaqi(units, table[2026])
            sub = np.where(is2026, v26, v12)
        else:
            sub = iaqi(units, table)
        if ind == "O3_8h":
            over = units > 800
            sub = np.where(over, np.where(is2026, 300.0, np.nan), sub)
        if ind == "O3_1h":
            sub = np.where(is2026, np.nan, sub)  # not a 2026 daily indicator
        subs[ind] = sub
    m = np.column_stack(list(subs.values()))
    present = ~np.isnan(m)
    needed = np.column_stack([
        np.ones(len(values), bool) if ind != "O3_1h" else ~is2026 for ind in subs
    ])
    # 2012 O3 8h > 800 uses O3 1h (already an indicator): counts as present
    o3_8_idx = list(subs).index("O3_8h")
    units8 = gbt8170(values["O3_8h"].to_numpy(), 0)
    present[:, o3_8_idx] |= (~is2026) & (units8 > 800)
    complete = (present | ~needed).all(axis=1)
    with np.errstate(all="ignore"):
        aqi = np.nanmax(np.where(np.isnan(m), -1, m), axis=1)
    aqi = np.where(aqi < 0, np.nan, aqi)
    publishable = complete | (aqi > 100)
    return np.where(publishable, aqi, np.nan)


def daily(df, stations):
    d = df[(df["flag"] == "N") & df["parameter"].isin(POLLUTANTS)].copy()
    local = d["time"].dt.tz_convert("Asia/Shanghai")
    d["day"] = local.dt.tz_localize(None).dt.normalize()
    d["hour"] = local.dt.hour
    # 24-h means and counts
    g = d.groupby(["station", "day", "parameter"])["value"].agg(["mean", "count", "max"])
    means = g["mean"].unstack("parameter")
    counts = g["count"].unstack("parameter").fillna(0)
    maxes = g["max"].unstack("parameter")
    out = pd.DataFrame(index=means.index)
    for p in ["SO2", "NO2", "PM10", "CO", "PM2.5"]:
        out[f"{p}_24h"] = means[p].where(counts[p] >= 20)
    out["O3_1h"] = maxes["O3"].where(counts["O3"] >= 20)
    # MDA8: hours as columns
    o3 = d[d["parameter"] == "O3"].set_index(["station", "day", "hour"])["value"].unstack("hour")
    o3 = o3.reindex(columns=range(24))
    arr = o3.to_numpy()
    wins = []
    for k in range(17):
        w = arr[:, k:k + 8]
        n = (~np.isnan(w)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
            mean = np.nanmean(w, axis=1)
        wins.append(np.where(n >= 6, mean, np.nan))
    wins = np.column_stack(wins)
    nwin = (~np.isnan(wins)).sum(axis=1)
    with np.errstate(all="ignore"):
        mda8 = np.nanmax(np.where(np.isnan(wins), -1, wins), axis=1)
    mda8 = np.where(mda8 < 0, np.nan, mda8)
    mda8 = np.where((nwin >= 14) | (mda8 > 160), mda8, np.nan)
    out["O3_8h"] = pd.Series(mda8, index=o3.index).reindex(out.index)
    out = out.reset_index()
    # full grid of station x day
    days = pd.date_range(out["day"].min(), out["day"].max(), freq="D")
    grid = pd.MultiIndex.from_product([stations["station"], days], names=["station", "day"])
    out = out.set_index(["station", "day"]).reindex(grid).reset_index()
    is2026 = (out["day"] >= pd.Timestamp("2026-03-01")).to_numpy()
    out["aqi"] = aqi_frame(out, is2026)
    # city: mean of valid non-control station values
    st = out.merge(stations, on="station")
    st = st[~st["control"]]
    inds = list(TABLES)
    city = st.groupby(["city", "day"])[inds].mean().reset_index()
    c2026 = (city["day"] >= pd.Timestamp("2026-03-01")).to_numpy()
    city["aqi"] = aqi_frame(city, c2026)
    return out, city


def ratios(city):
    c = city.copy()
    c["valid"] = c["aqi"].notna()
    c["good"] = c["aqi"] <= 100
    c["month"] = c["day"].dt.to_period("M")
    c["year"] = c["day"].dt.year
    month = c.groupby(["city", "month"])[["good", "valid"]].sum()
    year = c.groupby(["city", "year"])[["good", "valid"]].sum()
    month["ratio"] = month["good"] / month["valid"]
    year["ratio"] = year["good"] / year["valid"]
    return month, year


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    a = ap.parse_args()
    t = time.perf_counter()
    df, stations = generate(a.stations, a.days)
    print(f"pandas generated {len(df)} readings in {time.perf_counter() - t:.2f} s", flush=True)
    t = time.perf_counter()
    st, city = daily(df, stations)
    month, year = ratios(city)
    secs = time.perf_counter() - t
    sv, sg = int(st["aqi"].notna().sum()), int((st["aqi"] <= 100).sum())
    cv, cg = int(city["aqi"].notna().sum()), int((city["aqi"] <= 100).sum())
    aqi_sum = int(city["aqi"].sum())
    c00 = ", ".join(f"{y}: {int(r.good)}/{int(r.valid)}" for (cty, y), r in year.iterrows() if cty == "C00")
    print(f"pandas checksum: station-days {len(st)} valid {sv} good {sg}; city-days {len(city)} "
          f"valid {cv} good {cg} aqi_sum {aqi_sum}; ratio rows {len(month) + len(year)}; C00 {c00}")
    print(f"pandas seconds: {secs:.3f}")


if __name__ == "__main__":
    main()
