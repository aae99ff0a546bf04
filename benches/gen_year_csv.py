#!/usr/bin/env python3
"""Generates one city's year of hourly air readings as long CSV for the backfill
benchmark: 11 Hangzhou stations x 6 pollutants x 8760 hours (~578k readings).
Usage: python3 benches/gen_year_csv.py OUT.csv [YEAR]
Then:  /usr/bin/time -v envwatch backfill --config config --pipeline history-csv --from OUT.csv"""
import math, random, sys
from datetime import datetime, timedelta, timezone

out = sys.argv[1]
year = int(sys.argv[2]) if len(sys.argv) > 2 else 2025
stations = ["1223A", "1224A", "1225A", "1226A", "1227A", "1228A", "1229A", "1230A", "1231A", "1232A", "1233A"]
tz = timezone(timedelta(hours=8))
rng = random.Random(42)
t0 = datetime(year, 1, 1, tzinfo=tz)
with open(out, "w") as f:
    f.write("station,time,parameter,value,flag\n")
    for h in range(8760):
        t = (t0 + timedelta(hours=h)).isoformat()
        season = 1.0 + 0.5 * math.cos(2 * math.pi * h / 8760)
        for s in stations:
            pm25 = round(35 * season * rng.uniform(0.6, 1.4))
            f.write(f"{s},{t},PM2.5,{pm25},N\n")
            f.write(f"{s},{t},PM10,{round(pm25 * 1.6)},N\n")
            f.write(f"{s},{t},SO2,{round(rng.uniform(4, 12))},N\n")
            f.write(f"{s},{t},NO2,{round(rng.uniform(15, 60))},N\n")
            f.write(f"{s},{t},CO,{round(rng.uniform(0.3, 1.2), 1)},N\n")
            f.write(f"{s},{t},O3,{round(rng.uniform(10, 160))},N\n")
print("wrote", out)
