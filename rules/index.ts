// The SARDet rule library: functions that return plain sbuild targets. Imports only sbuild's public API.
export {};
