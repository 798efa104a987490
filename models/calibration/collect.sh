#!/bin/bash
# Copy a finished run's results (not its per-simulation files) into models/calibration/<variant>/.
set -e
cd /work/wt/calib
v=$1
mkdir -p models/calibration/$v/figures
.venv/bin/python -c "
import xarray as xr
from secdilemma.calibration.report import write_report
write_report(xr.load_dataset('build/calibration/$v/ranks.nc', engine='h5netcdf'), 'build/calibration/$v')
"
cp build/calibration/$v/ranks.nc build/calibration/$v/summary.csv build/calibration/$v/summary.md \
   build/calibration/$v/settings.json build/calibration/$v/command.txt models/calibration/$v/
cp build/calibration/$v/figures/* models/calibration/$v/figures/
