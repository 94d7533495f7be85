"""Nurse tools on top of monitoring: "notify physician" on a flag, the worklist's follow-up
calls and its print page, and the patient's printable dosing calendar."""
