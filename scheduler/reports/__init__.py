"""Reports for secretaries: attendance exports (CSV, XLSX, PDF), their signatures, travel saved."""
