#!/bin/sh
# The joint calibration whose posterior medians the shipped baseline carries (docs/calibration.md,
# "What the joint fit says"). Two training convoys: the 2023 Gao-Kidal march (baseline-uncalibrated,
# the baseline with its assumed values) and the French army's 2018 Gao-Ménaka convoy (menaka-2018).
# Shared by both: march speed, ambush rate, IED density, regrouping time after an ambush; the
# Anefis pause is the 2023 convoy's own, the mine roller's pace the 2018 convoy's own.
# About seven minutes on two workers (on the issue-9 model). Re-run it whenever the model or either scenario changes, then
# copy the medians and intervals of posterior_summary.csv into baseline.yaml's header and values.
# Usage: tools/calibrate_baseline.sh [OUTPUT_DIRECTORY]
set -e
convoysim calibrate baseline-uncalibrated menaka-2018 \
    --param convoy.speed_kmh.median=3:30 \
    --param threats.ambush.hazard_per_h=0:0.1 \
    --param threats.ied.per_100km=0:4 \
    --param threats.ambush.regroup_h.mode=2:24 \
    --param baseline-uncalibrated:halts.pauses.0.duration_h.mode=96:168 \
    --param menaka-2018:threats.ied.clearance_speed_factor=0.2:1 \
    --budget 8000 --population 200 --particle-replications 9 \
    --check-replications 1000 --seed 20231002 --workers 2 \
    --out "${1:-results/joint-baseline-menaka-2018/calibration-seed20231002}"
