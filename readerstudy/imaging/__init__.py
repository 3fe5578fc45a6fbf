"""Head-CT I/O: DICOM/NIfTI discovery, loading in HU, gantry tilt, de-identification, writing."""
