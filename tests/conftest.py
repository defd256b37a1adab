"""Settings for the whole suite."""

from hypothesis import settings

# Speed is measured by benchmarks/, never by a test: a property test on a loaded two-core
# machine must not fail because one example took longer than Hypothesis' default 200 ms.
settings.register_profile("crmkpi", deadline=None)
settings.load_profile("crmkpi")
