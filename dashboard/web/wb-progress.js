// 进度与预警: this node's subtree against the campaign, by child (with
// drill-down to the children that are behind), by region and by system; the
// trajectory chart (Chart.js from Debian's libjs-chart.js); the warnings.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, fmt } = WB;
  let chart = null;

  async function load() {
    state.drill = [{ id: state.who.orgId, name: state.org ? state.org.name : state.who.orgId }];
    const nodeWide = state.who.orgId === state.who.nodeId;
    for (const v of ['regions', 'systems']) $('progress-by-' + v).disabled = !nodeWide;
    $('progress-by-children').checked = true;
    await refresh();
    await warnings();
  }

  function ratio(done, expected) {
    return Number(expected) ? Math.round(100 * Number(done) / Number(expected)) + '%' : '—';
  }

  async function refresh() {
    const at = state.drill[state.drill.length - 1];
    const view = document.querySelector('input[name=progress-by]:checked').value;
    const crumbs = WB.clear('progress-crumbs');
    state.drill.forEach((d, i) => {
      const li = el('li', 'breadcrumb-item');
      if (i < state.drill.length - 1) {
        li.appendChild(WB.button(d.name, 'btn-link p-0', () => { state.drill.length = i + 1; refresh(); }));
      } else {
        li.textContent = d.name;
      }
      crumbs.appendChild(li);
    });
    try {
      const r = await api('MonitorService.GetProgress', view === 'children' ? { view, orgId: at.id } : { view });
      const t = r.total || {};
      // 已建成: profile complete, password changed, members entered.
      text('progress-grassroots', fmt(t.grassroots) + ' / ' + fmt(t.enteredGrassroots) + ' 个');
      text('progress-members', fmt(t.members) + ' 人');
      text('progress-complete', fmt(t.profileComplete) + ' 个');
      text('progress-activated', fmt(t.activated) + ' 个');
      text('progress-today', fmt(t.newGrassrootsToday) + ' / ' + fmt(t.newMembersToday));
      text('progress-week', fmt(t.newGrassrootsWeek) + ' / ' + fmt(t.newMembersWeek));
      text('progress-target', fmt(t.targetGrassrootsToday) + ' / ' + fmt(t.targetMembersToday));
      text('progress-status', t.behind ? '落后' : '正常');
      $('progress-status').className = 'fs-5 ' + (t.behind ? 'text-danger fw-bold' : 'text-success');
      text('progress-campaign', r.campaign ? '目标：' + r.campaign + '（截至 ' + r.asOfDate + '）' : '');
      text('progress-milestones', (r.milestones || []).map((m) => '阶段目标 ' + m.date + '：基层工会 ' +
        Math.round(100 * (m.grassrootsFraction || 0)) + '%，会员 ' +
        (Number(m.members) ? fmt(m.members) + ' 人' : Math.round(100 * (m.membersFraction || 0)) + '%')).join('；'));
      const rows = WB.clear('progress-rows');
      const behindOnly = $('progress-behind').checked;
      for (const p of r.rows || []) {
        if (behindOnly && !p.behind) continue;
        const tr = el('tr', p.behind ? 'table-warning' : '');
        const name = cell(tr, '');
        if (view === 'children' && p.scope.indexOf('org:') === 0) {
          name.appendChild(WB.button(p.label, 'btn-link p-0', () => {
            state.drill.push({ id: p.scope.slice(4), name: p.label });
            refresh();
          }));
        } else {
          name.textContent = p.label;
        }
        // The figure the target counts: entered (建成) unions when the campaign says so.
        const g = p.targetsCountEntered ? p.enteredGrassroots : p.grassroots;
        cell(tr, fmt(g) + (Number(p.expectedGrassroots) ? ' / ' + fmt(p.expectedGrassroots) : ''));
        cell(tr, ratio(g, p.expectedGrassroots));
        cell(tr, fmt(p.members) + (Number(p.expectedMembers) ? ' / ' + fmt(p.expectedMembers) : ''));
        cell(tr, ratio(p.members, p.expectedMembers));
        cell(tr, fmt(p.newMembersWeek));
        cell(tr, p.behind ? '落后' : '正常', p.behind ? 'text-danger fw-bold' : 'text-success');
        rows.appendChild(tr);
      }
      show('progress-empty', !rows.children.length);
    } catch (e) { showAlert(e.text); }
    await trajectory(at.id);
  }
  $('progress-csv').addEventListener('click', async () => {
    const view = document.querySelector('input[name=progress-by]:checked').value;
    try {
      const r = await api('MonitorService.ExportProgressCsv', { view });
      WB.saveBase64(r.csv, r.filename, 'text/csv');
    } catch (e) { showAlert(e.text); }
  });
  for (const id of ['progress-by-children', 'progress-by-regions', 'progress-by-systems', 'progress-behind']) {
    $(id).addEventListener('change', () => refresh());
  }

  async function trajectory(orgId) {
    try {
      const r = await api('MonitorService.GetTimeSeries', { scope: orgId === state.who.nodeId ? 'city' : 'org:' + orgId });
      const points = r.points || [];
      const data = {
        labels: points.map((p) => p.date),
        datasets: [
          { label: '会员人数', data: points.map((p) => Number(p.members)), borderColor: '#c62828', yAxisID: 'm' },
          { label: '会员目标', data: points.map((p) => Number(p.targetMembers)), borderColor: '#c62828', borderDash: [6, 4], yAxisID: 'm' },
          { label: '基层工会', data: points.map((p) => Number(p.grassroots)), borderColor: '#1565c0', yAxisID: 'g' },
          { label: '基层工会目标', data: points.map((p) => Number(p.targetGrassroots)), borderColor: '#1565c0', borderDash: [6, 4], yAxisID: 'g' },
        ],
      };
      if (typeof Chart === 'undefined') return;
      if (chart) chart.destroy();
      chart = new Chart($('progress-chart'), {
        type: 'line', data,
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, pointRadius: 0,
          scales: { m: { position: 'left', title: { display: true, text: '人' } },
            g: { position: 'right', title: { display: true, text: '个' }, grid: { drawOnChartArea: false } } },
        },
      });
    } catch (e) { /* Figures above still show. */ }
  }

  async function warnings() {
    const rows = WB.clear('warning-rows');
    try {
      const w = await api('MonitorService.ListWarnings', { orgId: state.who.orgId });
      const sev = { SEVERITY_NOTICE: '提示', SEVERITY_WARNING: '预警', SEVERITY_SERIOUS: '严重' };
      for (const x of w.warnings || []) {
        const tr = el('tr');
        cell(tr, sev[x.severity] || x.severity); cell(tr, x.orgId); cell(tr, x.text); cell(tr, WB.date(x.raisedAtMs));
        rows.appendChild(tr);
      }
      show('warning-empty', !(w.warnings || []).length);
    } catch (e) { showAlert(e.text); }
  }

  WB.view('progress', { title: '进度与预警', roles: ['DATA_ADMIN', 'REVIEWER', 'UNIT_LEADER', 'OPERATOR'], load });
})();
