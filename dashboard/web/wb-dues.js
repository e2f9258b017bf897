// 会费缴纳 (at the city, whose node is the hub): the payment service's file
// of dues paid, checked and imported (its data administrator only), and the
// coverage of a month for the city, by region and by system, with the payers
// no entered member matches.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, fmt } = WB;

  function yuan(fen) { return (Number(fen || 0) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2 }); }
  function pct(r) { return (Math.round(1000 * Number(r || 0)) / 10) + '%'; }

  async function load() {
    show('dues-import-box', state.who.role === 'DATA_ADMIN');
    await coverage('');
  }

  async function coverage(period) {
    try {
      const r = await api('MonitorService.GetDuesCoverage', { period });
      const select = WB.clear('dues-period');
      for (const p of r.periods || []) {
        const o = el('option', '', p.replace('-', '年') + '月');
        o.value = p;
        select.appendChild(o);
      }
      select.value = r.period || '';
      show('dues-none', !r.period);
      show('dues-figures', !!r.period);
      if (!r.period) return;
      const t = r.total || {};
      text('dues-paid', fmt(t.members) + ' / ' + fmt(t.paid) + ' 人');
      text('dues-ratio', pct(t.ratio));
      text('dues-amount', yuan(t.amountFen));
      text('dues-unmatched', fmt(r.unmatchedPayers) + ' 人');
      text('dues-asof', '按 ' + WB.date(r.asOfMs) + ' 的在册会员统计；共 ' + fmt(r.payers) +
        ' 人缴费，其中 ' + fmt(r.unmatchedPayers) + ' 人（' + yuan(r.unmatchedAmountFen) +
        ' 元）未找到在册会员记录，请督促其所在工会录入。');
      for (const [id, rows] of [['dues-regions', r.regions], ['dues-systems', r.systems]]) {
        const body = WB.clear(id);
        for (const c of rows || []) {
          if (!Number(c.members) && !Number(c.paid)) continue;
          const tr = el('tr');
          cell(tr, c.label); cell(tr, fmt(c.members)); cell(tr, fmt(c.paid));
          cell(tr, pct(c.ratio)); cell(tr, yuan(c.amountFen));
          body.appendChild(tr);
        }
      }
    } catch (e) { showAlert(e.text); }
  }
  $('dues-period').addEventListener('change', () => coverage($('dues-period').value));

  async function run(dryRun) {
    const file = $('dues-file').files[0];
    text('dues-error', '');
    text('dues-message', '');
    show('dues-errors-box', false);
    if (!file) { text('dues-error', '请先选择缴费记录文件（CSV 或 Excel）'); return; }
    for (const b of ['dues-check', 'dues-run']) $(b).disabled = true;
    text('dues-message', dryRun ? '正在检查……' : '正在导入……');
    try {
      const r = await WB.upload('MonitorService.ImportDues', file, { filename: file.name, dryRun });
      if (!r) throw { text: '导入没有完成，请重试' };
      text('dues-message', r.message || '');
      $('dues-message').className = 'fw-bold ' + (r.ok ? 'text-success' : 'text-danger');
      WB.cellErrors('dues-errors', r.errors);
      show('dues-errors-box', (r.errors || []).length > 0);
      if (r.written) await coverage((r.periods || []).slice(-1)[0] || '');
    } catch (e) {
      text('dues-message', '');
      text('dues-error', e.text || '导入失败');
    } finally {
      for (const b of ['dues-check', 'dues-run']) $(b).disabled = false;
    }
  }
  $('dues-check').addEventListener('click', () => run(true));
  $('dues-run').addEventListener('click', () => run(false));

  WB.view('dues', { title: '会费缴纳', roles: ['DATA_ADMIN', 'REVIEWER', 'UNIT_LEADER', 'OPERATOR'],
    nodeOnly: true, rootOnly: true, load });
})();
