"""Run every benchmark in turn (``make bench``)."""

from bench import (
    api,
    audit,
    coverage,
    dsa_export,
    intake_platforms,
    lifecycle,
    outbox,
    pages,
    safeguards,
    sla_maths,
    sla_sweep,
)

if __name__ == "__main__":
    lifecycle.main()
    audit.main()
    safeguards.main()
    coverage.main()
    sla_maths.main()
    intake_platforms.main()
    sla_sweep.main()
    outbox.main()
    pages.main()
    api.main()
    dsa_export.main()
