"""getSFJobs: SF jobs updated since the cursor into fact_jobs (the first run reads all), and the lookup lists
the pushes need: job statuses (dim_status, with codes and categories), job categories and techs (kept on
their sync_state rows).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sync.engine.cursors import finish_pass, get_cursor, is_fresh, save_progress, start_sf_pass
from sync.engine.refused import Refused
from sync.loaders.jobs import statuses_by_name, store_jobs
from sync.loaders.rows import batch_size, chunks, count_merge, text
from sync.policies.status import is_closed_sf_category
from warehouse.models import DimStatus

LOOKUPS = ("job_statuses", "job_categories", "techs")


# The lookups are cached for SYNC_SF_LOOKUP_CACHE_SECONDS; a job naming a status not yet known refreshes
# them at once, and --full always reads them.
def lookups_fresh(now) -> bool:
    """Whether every lookup list was read within SYNC_SF_LOOKUP_CACHE_SECONDS."""
    ttl = float(settings.SYNC["SF_LOOKUP_CACHE_SECONDS"])
    return all(is_fresh(get_cursor("servicefusion", name), ttl_seconds=ttl, now=now) for name in LOOKUPS)


def load_lookups(ctx) -> dict:
    """Statuses into dim_status; categories and techs onto their sync_state rows. Returns statuses by name."""
    sf = ctx.sf
    statuses = sf.list_job_statuses()
    for s in statuses:
        DimStatus.objects.update_or_create(
            source_system="sf",
            name=text(s.name),
            defaults={
                "sf_code": text(s.code),
                "sf_category": text(s.category),
                "is_open": not is_closed_sf_category(s.category) and not is_closed_sf_category(s.name),
            },
        )
    categories = sorted({text(c.name) for c in sf.list_job_categories() if text(c.name)})
    techs = [
        {
            "id": int(t.id),
            "email": text(t.email).lower(),
            "name": f"{text(t.first_name)} {text(t.last_name)}",
            "is_field_worker": bool(t.is_field_worker),
        }
        for t in sf.list_techs()
    ]
    read_at = timezone.now()
    for entity, state in (
        ("job_statuses", {"count": len(statuses)}),
        ("job_categories", {"names": categories}),
        ("techs", {"techs": techs}),
    ):
        cursor = get_cursor("servicefusion", entity)
        cursor.state, cursor.status, cursor.last_sync_time = state, "ok", read_at
        cursor.save()
    ctx.count("lookups_read")
    by_name = statuses_by_name()
    ctx.count("job_statuses", len(by_name))
    return by_name


def _unknown_statuses(jobs, statuses: dict) -> set[str]:
    return {name for name in (text(j.status).lower() for j in jobs) if name and name not in statuses}


def run(ctx) -> None:
    started = timezone.now()
    fresh = not ctx.full and lookups_fresh(started)
    statuses = statuses_by_name() if fresh else load_lookups(ctx)
    refreshed = not fresh
    if fresh:
        ctx.count("lookups_cached")
    # The next read asks for ``updated_date >= cursor - SYNC_SF_JOBS_OVERLAP_SECONDS`` (a few seconds), so a
    # quiet run costs one page: the jobs stamped at the boundary come back and merge as unchanged.
    # A pass cut short is taken up at the page it had committed (cursors.start_pass says why that page).
    cursor, this_pass = start_sf_pass("jobs", started=started, full=ctx.full)
    bound, newest = this_pass.bound, this_pass.newest
    total = 0
    size = 10**9 if ctx.full else batch_size()
    refused = Refused(ctx, "jobs")
    jobs = ctx.sf.iter_jobs(updated_since=bound, pages=this_pass.pages, on_malformed=refused)
    for batch in chunks(jobs, size):
        if not refreshed and _unknown_statuses(batch, statuses):
            # A status added or renamed in SF since the cached read: refresh now, not in an hour.
            statuses, refreshed = load_lookups(ctx), True
        stamps = [j.updated_at for j in batch if j.updated_at]
        if stamps and (newest is None or max(stamps) > newest):
            newest = max(stamps)
        with transaction.atomic():
            result = store_jobs(
                batch,
                flags=ctx.flags,
                statuses=statuses,
                sync_run_id=ctx.run_id,
                change_reason=ctx.name,
                full=refused.full(ctx.full),
            )
            save_progress(
                cursor,
                read=total + len(batch),
                page=this_pass.pages.done,
                newest=newest.isoformat() if newest else None,
            )
        count_merge(ctx, result, "jobs")
        total += len(batch)
    ctx.count("jobs_read", total)
    # The cursor follows SF's own clock (the newest updated_at seen), not ours: no skew to allow for. The
    # overlap only covers a job stamped just before that one but committed after our read.
    since = bound.isoformat() if bound else None
    finish_pass(cursor, synced_to=refused.synced_to(newest), since=since, count=total)
