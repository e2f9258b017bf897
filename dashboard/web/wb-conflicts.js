// 数据冲突 (at the city, whose node is the hub): what the hub's reconciliation found (one person active in two
// unions, one credit code on two organisations, ...), with both sides as the
// hub holds them (numbers masked), and their resolution with a note.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, button } = WB;
  const kinds = {
    DUPLICATE_PERSON: '同一人员在两个工会在册', DUPLICATE_CREDIT_CODE: '统一社会信用代码重复',
    ORPHANED_RECORDS: '组织已撤销但仍有在册会员', TRANSFER_HALF_DONE: '会员转移未完成', INVALID_DATA: '数据不合规',
  };
  const states = { CONFLICT_OPEN: '待处理', CONFLICT_RESOLVED: '已处理', CONFLICT_CLEARED: '已消除' };

  function side(s) {
    const who = s.member ? s.member.name + ' ' + s.member.idNumber : (s.org ? s.org.name : '');
    return s.orgId + (who ? '：' + who : '');
  }

  async function load() {
    const rows = WB.clear('conflict-rows');
    try {
      const r = await api('MonitorService.ListConflicts', { includeClosed: $('conflict-closed').checked, pageSize: 200 });
      for (const c of r.conflicts || []) {
        const tr = el('tr', c.state === 'CONFLICT_OPEN' ? 'table-warning' : '');
        cell(tr, kinds[c.kind] || c.kind); cell(tr, c.detail);
        cell(tr, (c.sides || []).map(side).join('；'), 'masked');
        cell(tr, WB.date(c.detectedAtMs));
        cell(tr, states[c.state] || c.state + (c.resolutionNote ? '：' + c.resolutionNote : ''));
        const td = cell(tr, '');
        if (c.state === 'CONFLICT_OPEN') td.appendChild(button('标记已处理', 'btn-outline-secondary', () => resolve(c)));
        rows.appendChild(tr);
      }
      show('conflict-empty', !rows.children.length);
    } catch (e) { showAlert(e.text); }
  }

  async function resolve(c) {
    const note = $('conflict-note').value.trim();
    if (!note) { showAlert('请先填写处理说明（例如：已通知芙蓉区将重复会员减员）'); $('conflict-note').focus(); return; }
    try {
      await api('MonitorService.ResolveConflict', { conflictId: c.id, note });
      $('conflict-note').value = '';
      showAlert('已标记为已处理。', true);
      await load();
    } catch (e) { showAlert(e.text); }
  }
  $('conflict-closed').addEventListener('change', load);

  WB.view('conflicts', { title: '数据冲突', roles: ['DATA_ADMIN'], nodeOnly: true, rootOnly: true, load });
})();
