/// `GET /`: the operators' page. One HTML document, no build step, no external assets; it
/// fetches the API every second (projections with lag, jobs with progress, quarantines with a
/// "replay" button that posts `/v1/replays`).
enum OperatorsPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Refold</title>
    <style>
    body{font:14px system-ui,sans-serif;margin:2em;color:#222} table{border-collapse:collapse;margin-bottom:1.5em}
    td,th{border:1px solid #ccc;padding:4px 8px;text-align:left} progress{width:12em} .muted{color:#888}
    </style></head><body>
    <h1>Refold</h1>
    <h2>Projections</h2><table id="projections"><tr><th>projection</th><th>checkpoint</th><th>head</th><th>behind</th><th>quarantined</th><th>leader</th></tr></table>
    <h2>Quarantined aggregates</h2><table id="quarantine"><tr><th>projection</th><th>aggregate</th><th>version</th><th>code</th><th>reason</th><th></th></tr></table>
    <h2>Jobs</h2><div id="jobs" class="muted">requests started here appear below</div>
    <script>
    const projections = (document.cookie.match(/refold_projections=([^;]*)/) || [,'order_summary'])[1].split(',');
    const jobs = new Set(JSON.parse(sessionStorage.getItem('refold_jobs') || '[]'));
    function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }
    async function get(path) { const r = await fetch(path); return r.ok ? r.json() : null; }
    async function refresh() {
      const p = document.getElementById('projections'), q = document.getElementById('quarantine');
      while (p.rows.length > 1) p.deleteRow(1); while (q.rows.length > 1) q.deleteRow(1);
      for (const name of projections) {
        const s = await get('/v1/projections/' + name); if (!s) continue;
        const row = p.insertRow(); row.dataset.projection = name;
        [name, s.checkpoint_position, s.head_position, s.positions_behind, s.quarantined, s.leader ? s.leader.owner : '—'].forEach(v => cell(row, String(v)));
        const list = await get('/v1/projections/' + name + '/quarantine');
        for (const r of (list ? list.quarantined : [])) {
          const row = q.insertRow(); row.className = 'quarantined';
          [name, r.aggregate, r.version, r.code, r.reason].forEach(v => cell(row, String(v)));
          const button = document.createElement('button'); button.textContent = 'replay this aggregate';
          button.onclick = async () => {
            const res = await fetch('/v1/replays', {method: 'POST', headers: {'content-type': 'application/json'},
              body: JSON.stringify({projection: name, kind: 'rebuild', aggregates: [r.aggregate]})});
            if (res.ok) { const j = await res.json(); jobs.add(j.job); sessionStorage.setItem('refold_jobs', JSON.stringify([...jobs])); }
          };
          row.insertCell().appendChild(button);
        }
      }
      const box = document.getElementById('jobs'); box.textContent = jobs.size ? '' : 'requests started here appear below';
      for (const id of jobs) {
        const j = await get('/v1/jobs/' + id); if (!j) continue;
        const line = document.createElement('div'); line.className = 'job';
        const done = j.progress ? j.progress.events_done : 0, total = j.progress ? j.progress.events_total : 0;
        line.textContent = id + ' — ' + j.state + ' ';
        const bar = document.createElement('progress'); bar.max = total || 1; bar.value = done; line.appendChild(bar);
        box.appendChild(line);
      }
    }
    refresh(); setInterval(refresh, 1000);
    </script></body></html>
    """
}
