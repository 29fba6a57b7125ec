/// `GET /`: the operators' page. One HTML document, no build step, no external assets. It
/// fetches the API once a second (each refresh starts when the last one ended): projections
/// with lag, running jobs with progress bars, recent reports, quarantines with a "replay this
/// aggregate" button that posts `/v1/replays`. Elements carry `data-*` attributes with the raw
/// figures so scripts (and the browser test) can read them without parsing text.
enum OperatorsPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Refold</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body{font:14px system-ui,sans-serif;margin:2em;color:#222} table{border-collapse:collapse;margin-bottom:1.5em}
    td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top} progress{width:14em} .muted{color:#888}
    .bad{color:#a00} .ok{color:#070} #updated{float:right}
    </style></head><body>
    <h1>Refold</h1><div id="updated" class="muted">loading…</div>
    <h2>Projections</h2>
    <table id="projections"><thead><tr><th>projection</th><th>checkpoint</th><th>head</th><th>behind</th><th>seconds behind</th><th>quarantined</th><th>live runner</th></tr></thead><tbody></tbody></table>
    <h2>Running jobs</h2>
    <table id="running"><thead><tr><th>job</th><th>projection</th><th>kind</th><th>state</th><th>events</th><th>tasks done / total</th><th>dead</th><th>age</th><th></th></tr></thead><tbody></tbody></table>
    <div id="requests"></div>
    <h2>Recent reports</h2>
    <table id="recent"><thead><tr><th>job</th><th>projection</th><th>kind</th><th>state</th><th>report</th></tr></thead><tbody></tbody></table>
    <h2>Quarantined aggregates</h2>
    <table id="quarantine"><thead><tr><th>projection</th><th>aggregate</th><th>version</th><th>code</th><th>reason</th><th></th></tr></thead><tbody></tbody></table>
    <script>
    'use strict';
    const requests = new Set(JSON.parse(sessionStorage.getItem('refold_requests') || '[]'));
    function cell(row, text) { const td = row.insertCell(); td.textContent = text == null ? '—' : String(text); return td; }
    function body(id) { const b = document.querySelector('#' + id + ' tbody'); b.replaceChildren(); return b; }
    async function get(path) { const r = await fetch(path, {cache: 'no-store'}); return r.ok ? r.json() : null; }
    function progress(done, total) {
      const bar = document.createElement('progress'); bar.max = Math.max(1, total); bar.value = done; return bar;
    }
    function summary(report) {
      if (!report) return '';
      if (report.swapped === true) return 'swapped: ' + report.events + ' events, ' + report.rows + ' rows in ' + report.seconds.toFixed(2) + ' s, ' + report.quarantined + ' quarantined';
      if (report.swapped === false) return 'not swapped: ' + (report.not_swapped_because || 'the live table was kept');
      if (report.caught_up === false) return 'not caught up: ' + (report.not_caught_up_because || '');
      return Object.entries(report).map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ');
    }
    async function replay(projection, aggregate, button) {
      button.disabled = true;
      const res = await fetch('/v1/replays', {method: 'POST', headers: {'content-type': 'application/json'},
        body: JSON.stringify({projection: projection, kind: 'rebuild', aggregates: [aggregate]})});
      const answer = await res.json();
      if (res.ok) { requests.add(answer.job); sessionStorage.setItem('refold_requests', JSON.stringify([...requests])); button.textContent = 'requested'; }
      else { button.disabled = false; alert(answer.detail || 'the replay was not accepted'); }
    }
    async function refresh() {
      const list = await get('/v1/projections');
      const p = body('projections'), q = body('quarantine');
      for (const name of (list ? list.projections : [])) {
        const s = await get('/v1/projections/' + encodeURIComponent(name)); if (!s) continue;
        const row = p.insertRow(); row.dataset.projection = name; row.dataset.behind = s.positions_behind;
        [name, s.checkpoint_position, s.head_position, s.positions_behind, s.seconds_behind.toFixed(1), s.quarantined, s.leader ? s.leader.owner : 'none'].forEach(v => cell(row, v));
        const quarantined = await get('/v1/projections/' + encodeURIComponent(name) + '/quarantine');
        for (const r of (quarantined ? quarantined.quarantined : [])) {
          const row = q.insertRow(); row.className = 'quarantined'; row.dataset.aggregate = r.aggregate;
          [name, r.aggregate, r.version, r.code, r.reason].forEach(v => cell(row, v));
          const button = document.createElement('button'); button.textContent = 'replay this aggregate';
          button.onclick = () => replay(name, r.aggregate, button);
          row.insertCell().appendChild(button);
        }
      }
      const jobs = await get('/v1/jobs?recent=10');
      const running = body('running'), recent = body('recent');
      for (const j of (jobs ? jobs.running : [])) {
        const row = running.insertRow(); row.className = 'job'; row.dataset.job = j.id;
        row.dataset.eventsDone = j.progress.events_done; row.dataset.eventsTotal = j.progress.events_total;
        [j.id, j.projection, j.job_kind, j.state].forEach(v => cell(row, v));
        const events = cell(row, ' ' + j.progress.events_done + ' / ' + j.progress.events_total);
        events.prepend(progress(j.progress.events_done, j.progress.events_total));
        [j.tasks.done + ' / ' + j.tasks.total, j.tasks.dead, j.age_seconds.toFixed(0) + ' s'].forEach(v => cell(row, v));
        const button = document.createElement('button'); button.textContent = 'cancel';
        button.onclick = async () => { if (confirm('Cancel job ' + j.id + '?')) await fetch('/v1/jobs/' + encodeURIComponent(j.id), {method: 'DELETE'}); };
        row.insertCell().appendChild(button);
      }
      if (!running.rows.length) { const row = running.insertRow(); row.className = 'muted'; cell(row, 'no job is running').colSpan = 9; }
      for (const j of (jobs ? jobs.recent : [])) {
        const row = recent.insertRow(); row.className = 'report'; row.dataset.job = j.id;
        [j.id, j.projection, j.job_kind, j.state].forEach(v => cell(row, v));
        const text = cell(row, summary(j.report) || j.reason || '');
        if (j.report && (j.report.swapped === false || j.report.caught_up === false)) text.className = 'bad';
      }
      if (!recent.rows.length) { const row = recent.insertRow(); row.className = 'muted'; cell(row, 'no finished job is recorded in this Redis').colSpan = 5; }
      const box = document.getElementById('requests'); box.replaceChildren();
      for (const id of requests) {
        const r = await get('/v1/jobs/' + encodeURIComponent(id)); if (!r) continue;
        const line = document.createElement('div'); line.className = 'request';
        line.textContent = 'replay ' + id + ' (' + r.aggregates.join(', ') + '): ' + r.state + (r.job ? ', job ' + r.job : '') + (r.error ? ' — ' + r.error : '');
        box.appendChild(line);
      }
      document.getElementById('updated').textContent = (list && jobs ? 'updated ' : 'the server did not answer; retrying — ') + new Date().toLocaleTimeString();
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    }
    async function loop() { try { await refresh(); } catch (e) { document.getElementById('updated').textContent = 'error: ' + e; } setTimeout(loop, 1000); }
    loop();
    </script></body></html>
    """
}
