#!/usr/bin/env python3
"""Generates deploy/grafana/dashboards/*.json (the committed artifacts) from this one
description, so panels stay consistent: InfluxQL raw queries only (work on InfluxDB 1.x,
2.x via DBRP, 3.x), the schema of src/publish/schema.rs, AQI level and water class
colours of HJ 633 Appendix A / GB 3838. Run: python3 scripts/gen-grafana-dashboards.py"""
import json
import os

DS = {"type": "influxdb", "uid": "envwatch-influx"}
OUT = os.path.join(os.path.dirname(__file__), "..", "deploy", "grafana", "dashboards")

# HJ 633 Appendix A colours (RGB) per AQI level.
AQI_STEPS = [
    (None, "rgb(0,228,0)"), (51, "rgb(255,255,0)"), (101, "rgb(255,126,0)"),
    (151, "rgb(255,0,0)"), (201, "rgb(153,0,76)"), (301, "rgb(126,0,35)"),
]
LEVELS = [(1, "优 excellent", "rgb(0,228,0)"), (2, "良 good", "rgb(255,255,0)"),
          (3, "轻度污染 light", "rgb(255,126,0)"), (4, "中度污染 moderate", "rgb(255,0,0)"),
          (5, "重度污染 heavy", "rgb(153,0,76)"), (6, "严重污染 severe", "rgb(126,0,35)")]
CLASSES = [(1, "Ⅰ", "#1f78b4"), (2, "Ⅱ", "#33a02c"), (3, "Ⅲ", "#b2df8a"),
           (4, "Ⅳ", "#fdbf6f"), (5, "Ⅴ", "#ff7f00"), (6, "劣Ⅴ", "#e31a1c")]

_id = [0]


def pid():
    _id[0] += 1
    return _id[0]


def target(query, ref="A", fmt="time_series", alias=None):
    t = {"datasource": DS, "refId": ref, "rawQuery": True, "query": query,
         "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


def steps(pairs):
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for v, c in pairs]}


def panel(kind, title, x, y, w, h, targets, unit=None, thresholds=None, mappings=None,
          custom=None, options=None, description=None, transformations=None,
          decimals=None, minv=None, maxv=None):
    defaults = {}
    if unit:
        defaults["unit"] = unit
    if thresholds:
        defaults["thresholds"] = thresholds
        defaults["color"] = {"mode": "thresholds"}
    if mappings:
        defaults["mappings"] = mappings
    if custom:
        defaults["custom"] = custom
    if decimals is not None:
        defaults["decimals"] = decimals
    if minv is not None:
        defaults["min"] = minv
    if maxv is not None:
        defaults["max"] = maxv
    p = {"id": pid(), "type": kind, "title": title, "datasource": DS,
         "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
         "fieldConfig": {"defaults": defaults, "overrides": []}}
    if options:
        p["options"] = options
    if description:
        p["description"] = description
    if transformations:
        p["transformations"] = transformations
    return p


def value_mappings(items):
    return [{"type": "value", "options": {str(v): {"text": t, "color": c, "index": i}
                                           for i, (v, t, c) in enumerate(items)}}]


def var(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": query, "definition": query, "refresh": 2, "includeAll": False,
            "multi": False, "sort": 1, "current": {}, "options": []}


def dashboard(uid, title, panels, variables, annotations=None, time_from="now-90d"):
    ann = [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]
    ann += annotations or []
    return {"uid": uid, "title": title, "tags": ["envwatch"], "timezone": "Asia/Shanghai",
            "schemaVersion": 39, "version": 1, "editable": False, "refresh": "5m",
            "time": {"from": time_from, "to": "now"},
            "templating": {"list": variables}, "annotations": {"list": ann},
            "panels": panels}


ALERT_ANNOTATION = {
    "name": "envwatch alerts", "datasource": DS, "enable": True,
    "iconColor": "rgb(227, 26, 28)",
    "query": "SELECT \"message\" FROM \"envwatch_alert\" WHERE \"state\" = 'firing' AND $timeFilter",
    "textColumn": "message", "tagsColumn": "rule",
}

CITY = "\"city\" =~ /^$city$/"


def air():
    _id[0] = 0
    pct = {"mode": "absolute", "steps": [{"color": "red", "value": None},
                                          {"color": "green", "value": 80}]}
    line80 = {"thresholdsStyle": {"mode": "line+area"}, "drawStyle": "bars",
              "fillOpacity": 60, "lineWidth": 1}
    panels = [
        panel("stat", "优良天数比例 年累计 Good-day ratio, year to date (target ≥ 80%)", 0, 0, 8, 5,
              [target(f"SELECT last(\"ratio\") * 100 FROM \"air_target\" WHERE {CITY} AND \"period\" = 'year' AND $timeFilter")],
              unit="percent", thresholds=pct, decimals=1),
        panel("stat", "优良天数比例 月累计 Good-day ratio, month to date", 8, 0, 8, 5,
              [target(f"SELECT last(\"ratio\") * 100 FROM \"air_target\" WHERE {CITY} AND \"period\" = 'month' AND $timeFilter")],
              unit="percent", thresholds=pct, decimals=1),
        panel("stat", "优良天数 / 有效天数 Good days / valid days (year)", 16, 0, 8, 5,
              [target(f"SELECT last(\"good_days\") AS \"good\", last(\"valid_days\") AS \"valid\" FROM \"air_target\" WHERE {CITY} AND \"period\" = 'year' AND $timeFilter")]),
        panel("timeseries", "月度优良天数比例 Monthly good-day ratio vs 80%", 0, 5, 12, 8,
              [target(f"SELECT last(\"ratio\") * 100 AS \"月 month\" FROM \"air_target\" WHERE {CITY} AND \"period\" = 'month' AND $timeFilter GROUP BY time(1d) fill(none)")],
              unit="percent", thresholds=pct, custom=line80, minv=0, maxv=100),
        panel("timeseries", "城市日AQI City daily AQI (colour = level)", 12, 5, 12, 8,
              [target(f"SELECT last(\"aqi\") AS \"AQI\" FROM \"air_daily\" WHERE \"scope\" = 'city' AND {CITY} AND $timeFilter GROUP BY time(1d) fill(none)")],
              thresholds=steps(AQI_STEPS),
              custom={"drawStyle": "bars", "fillOpacity": 80, "thresholdsStyle": {"mode": "line"}},
              options={"legend": {"showLegend": False}}),
        panel("state-timeline", "空气质量级别日历 Calendar of AQI levels", 0, 13, 24, 5,
              [target(f"SELECT last(\"level\") AS \"level\" FROM \"air_daily\" WHERE \"scope\" = 'city' AND {CITY} AND $timeFilter GROUP BY time(1d) fill(none)")],
              mappings=value_mappings(LEVELS), thresholds=steps([(None, "transparent")]),
              options={"showValue": "never", "mergeValues": False}),
        panel("table", "首要污染物 Primary pollutants of polluted days (AQI > 100)", 0, 18, 8, 8,
              [target(f"SELECT \"aqi\", \"primary\" FROM \"air_daily\" WHERE \"scope\" = 'city' AND {CITY} AND \"aqi\" > 50 AND $timeFilter", fmt="table")],
              transformations=[{"id": "groupBy", "options": {"fields": {
                  "primary": {"aggregations": [], "operation": "groupby"},
                  "aqi": {"aggregations": ["count", "max"], "operation": "aggregate"}}}}],
              description="Days with AQI > 50 grouped by primary pollutant (HJ 633: a primary pollutant is named only when AQI > 50)."),
        panel("timeseries", "站点日AQI Daily AQI per station", 8, 18, 16, 8,
              [target(f"SELECT last(\"aqi\") FROM \"air_daily\" WHERE \"scope\" = 'station' AND {CITY} AND $timeFilter GROUP BY time(1d), \"station\" fill(none)", alias="$tag_station")],
              thresholds=steps(AQI_STEPS), custom={"thresholdsStyle": {"mode": "dashed"}}),
        panel("timeseries", "小时浓度 Hourly concentrations (city mean of stations, µg/m³)", 0, 26, 24, 8,
              [target(f"SELECT mean(\"pm2_5\") AS \"PM2.5\", mean(\"pm10\") AS \"PM10\", mean(\"no2\") AS \"NO2\", mean(\"o3\") AS \"O3\", mean(\"so2\") AS \"SO2\" FROM \"air_hourly\" WHERE {CITY} AND $timeFilter GROUP BY time($__interval) fill(none)")],
              unit="conμgm3"),
    ]
    vars_ = [var("city", "City 城市", "SHOW TAG VALUES FROM \"air_daily\" WITH KEY = \"city\"")]
    return dashboard("envwatch-air", "envwatch · 空气 Air targets", panels, vars_, [ALERT_ANNOTATION])


def water():
    _id[0] = 0
    class_map = value_mappings(CLASSES)
    limit_lines = lambda pairs: {"mode": "absolute", "steps": [{"color": "transparent", "value": None}] + [
        {"color": c, "value": v} for v, c in pairs]}
    panels = [
        panel("stat", "饮用水水源地达标率 Drinking-water sources compliant (target 100%)", 0, 0, 8, 5,
              [target("SELECT last(\"ratio\") * 100 FROM \"water_target\" WHERE \"kind\" = 'drinking_source' AND \"period\" = 'month' AND $timeFilter")],
              unit="percent", thresholds=steps([(None, "red"), (100, "green")]), decimals=1),
        panel("stat", "劣Ⅴ类断面 Sections at inferior class V (target 0)", 8, 0, 8, 5,
              [target("SELECT last(\"inferior_v\") FROM \"water_target\" WHERE \"kind\" = 'all_sections' AND \"period\" = 'month' AND $timeFilter")],
              thresholds=steps([(None, "green"), (1, "red")])),
        panel("stat", "断面达标率 Sections meeting their target", 16, 0, 8, 5,
              [target("SELECT last(\"ratio\") * 100 FROM \"water_target\" WHERE \"kind\" = 'all_sections' AND \"period\" = 'month' AND $timeFilter")],
              unit="percent", thresholds=steps([(None, "red"), (100, "green")]), decimals=1),
        panel("table", "断面水质类别 Class per section: actual vs target", 0, 5, 24, 8,
              [target("SELECT last(\"class\") AS \"class\", last(\"worst_item\") AS \"定类项目 items\", last(\"compliant\") AS \"达标 compliant\" FROM \"water_class\" WHERE \"period\" = 'day' AND $timeFilter GROUP BY \"section\", \"target\", \"drinking_source\"", fmt="table")],
              mappings=class_map + [{"type": "value", "options": {"1": {"text": "✔"}, "0": {"text": "✘"}}}],
              custom={"cellOptions": {"type": "color-background"}}),
        panel("state-timeline", "断面水质类别 Daily class per section (Ⅰ…劣Ⅴ)", 0, 13, 24, 8,
              [target("SELECT last(\"class\") FROM \"water_class\" WHERE \"period\" = 'day' AND $timeFilter GROUP BY time(1d), \"section\" fill(none)", alias="$tag_section")],
              mappings=class_map, thresholds=steps([(None, "transparent")]),
              options={"showValue": "auto", "mergeValues": True}),
        panel("timeseries", "氨氮 NH3-N (mg/L) with class limits", 0, 21, 12, 8,
              [target("SELECT mean(\"nh3_n\") FROM \"water_reading\" WHERE \"section\" =~ /^$section$/ AND $timeFilter GROUP BY time($__interval), \"section\" fill(none)", alias="$tag_section")],
              unit="conmgL", thresholds=limit_lines([(0.5, "#33a02c"), (1.0, "#b2df8a"), (1.5, "#fdbf6f"), (2.0, "#e31a1c")]),
              custom={"thresholdsStyle": {"mode": "dashed"}},
              description="Dashed lines: GB 3838-2002 limits of class II (0.5), III (1.0), IV (1.5), V (2.0); above 2.0 is inferior V."),
        panel("timeseries", "总磷 TP (mg/L) with river class limits", 12, 21, 12, 8,
              [target("SELECT mean(\"tp\") FROM \"water_reading\" WHERE \"section\" =~ /^$section$/ AND $timeFilter GROUP BY time($__interval), \"section\" fill(none)", alias="$tag_section")],
              unit="conmgL", thresholds=limit_lines([(0.1, "#33a02c"), (0.2, "#b2df8a"), (0.3, "#fdbf6f"), (0.4, "#e31a1c")]),
              custom={"thresholdsStyle": {"mode": "dashed"}},
              description="River limits II 0.1, III 0.2, IV 0.3, V 0.4 (lakes/reservoirs: 0.025/0.05/0.1/0.2)."),
        panel("timeseries", "溶解氧 DO (mg/L, higher is better)", 0, 29, 12, 8,
              [target("SELECT mean(\"do\") FROM \"water_reading\" WHERE \"section\" =~ /^$section$/ AND $timeFilter GROUP BY time($__interval), \"section\" fill(none)", alias="$tag_section")],
              unit="conmgL", thresholds=limit_lines([(2, "#e31a1c"), (3, "#fdbf6f"), (5, "#b2df8a"), (6, "#33a02c")]),
              custom={"thresholdsStyle": {"mode": "dashed"}}),
        panel("timeseries", "高锰酸盐指数 CODMn (mg/L)", 12, 29, 12, 8,
              [target("SELECT mean(\"codmn\") FROM \"water_reading\" WHERE \"section\" =~ /^$section$/ AND $timeFilter GROUP BY time($__interval), \"section\" fill(none)", alias="$tag_section")],
              unit="conmgL", thresholds=limit_lines([(4, "#33a02c"), (6, "#b2df8a"), (10, "#fdbf6f"), (15, "#e31a1c")]),
              custom={"thresholdsStyle": {"mode": "dashed"}}),
    ]
    vars_ = [var("section", "Section 断面", "SHOW TAG VALUES FROM \"water_reading\" WITH KEY = \"section\"")]
    return dashboard("envwatch-water", "envwatch · 水 Water targets", panels, vars_, [ALERT_ANNOTATION])


def alerts():
    _id[0] = 0
    panels = [
        panel("table", "告警 Alerts (state changes, newest last)", 0, 0, 24, 10,
              [target("SELECT \"state\", \"severity\", \"message\" FROM \"envwatch_alert\" WHERE $timeFilter GROUP BY \"rule\", \"subject\"", fmt="table")],
              mappings=[{"type": "value", "options": {"firing": {"text": "告警 firing", "color": "red"}, "resolved": {"text": "恢复 resolved", "color": "green"}, "repeat": {"text": "重复 repeat", "color": "orange"}}}]),
        panel("timeseries", "告警数 Alert state changes per day", 0, 10, 24, 8,
              [target("SELECT count(\"state\") FROM \"envwatch_alert\" WHERE $timeFilter GROUP BY time(1d), \"rule\" fill(none)", alias="$tag_rule")],
              custom={"drawStyle": "bars", "fillOpacity": 70}),
    ]
    return dashboard("envwatch-alerts", "envwatch · 告警 Alerts", panels, [], [ALERT_ANNOTATION])


for name, d in (("air", air()), ("water", water()), ("alerts", alerts())):
    with open(os.path.join(OUT, f"envwatch-{name}.json"), "w", encoding="utf-8") as f:
        json.dump(d, f, ensure_ascii=False, indent=2)
        f.write("\n")
print("wrote", OUT)
