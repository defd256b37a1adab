"""The report model, its builder, targets and alerts, and one renderer module per output format.

The package is `reporting`, not `report`, so that `crmkpi.report(ds, ...)` stays the API
function whatever submodule was imported first (importing `crmkpi.reporting.build` binds
`crmkpi.reporting`, never `crmkpi.report`).
"""
