"""The reading protocol: study definition, design and schedule, washout, blinding, clock."""
