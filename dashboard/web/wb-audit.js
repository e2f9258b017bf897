// 审计 (R10.4): search of this subtree's audit log by person, action,
// organisation and date, and the verification of the log's hash chain.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el } = WB;
  const outcomes = { AUDIT_OK: '成功', AUDIT_DENIED: '拒绝', AUDIT_FAILED: '失败' };

  function load() {
    show('audit-verify', state.who.role !== 'REVIEWER' && state.who.orgId === state.who.nodeId);
    search(false);
  }

  function dayMs(value, end) {
    if (!value) return 0;
    const d = new Date(value + 'T00:00:00+08:00').getTime();
    return isNaN(d) ? 0 : String(end ? d + 86400000 : d);
  }

  async function search(more) {
    const rows = $('audit-rows');
    if (!more) { rows.textContent = ''; state.auditToken = ''; }
    try {
      const r = await api('AdminService.SearchAudit', {
        actor: $('audit-actor').value.trim(), action: $('audit-action').value.trim(),
        orgId: $('audit-org').value.trim(), subtree: true,
        fromMs: dayMs($('audit-from').value.trim(), false), toMs: dayMs($('audit-to').value.trim(), true),
        pageSize: 100, pageToken: state.auditToken || '',
      });
      for (const e of r.entries || []) {
        const tr = el('tr', e.outcome === 'AUDIT_OK' ? '' : 'table-warning');
        cell(tr, e.seq); cell(tr, WB.date(e.timeMs)); cell(tr, e.actor + (e.actorOrg ? '（' + e.actorOrg + '）' : ''));
        cell(tr, e.action); cell(tr, e.target); cell(tr, outcomes[e.outcome] || e.outcome); cell(tr, e.detail || '');
        rows.appendChild(tr);
      }
      state.auditToken = r.nextPageToken || '';
      show('audit-more', !!state.auditToken);
      show('audit-empty', !rows.children.length);
    } catch (e) { showAlert(e.text); }
  }
  $('audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
  $('audit-more').addEventListener('click', () => search(true));

  $('audit-verify').addEventListener('click', async () => {
    const out = $('audit-verify-result');
    try {
      const r = await api('AdminService.VerifyAudit');
      out.className = r.intact ? 'text-success fw-bold' : 'text-danger fw-bold';
      out.textContent = r.intact ? '审计日志完整：共 ' + WB.fmt(r.entries) + ' 条，哈希链校验通过。'
        : '审计日志在第 ' + r.firstBrokenSeq + ' 条处不完整：' + r.detail + '。请立即报告上级工会和保密负责人。';
    } catch (e) { out.className = 'text-danger'; out.textContent = e.text; }
  });

  WB.view('audit', { title: '审计', roles: ['DATA_ADMIN', 'REVIEWER', 'OPERATOR'], load });
})();
