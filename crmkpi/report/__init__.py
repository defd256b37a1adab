"""The report model, its builder, and one renderer module per output format.

`crmkpi.report(ds, ...)`, the public API call (crmkpi.api.report), shares its name with this
package; the package is callable so both that call and `crmkpi.report.build` keep working,
whichever is imported first.
"""

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from crmkpi.api import report

        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
