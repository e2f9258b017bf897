// 数据导出: a bulk read of members is an export (R10): the data administrator
// requests it (purpose, fields, recipient); the unit's leader and the upper
// tier approve it in their inbox; the requester downloads it once; anyone
// allowed can trace a leaked file back to its request.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, button } = WB;
  const fieldNames = {
    EXPORT_GENDER: '性别', EXPORT_ETHNICITY: '民族', EXPORT_ID_NUMBER: '身份证号', EXPORT_PHONE: '手机号',
    EXPORT_EDUCATION: '学历', EXPORT_WORKPLACE: '工作单位', EXPORT_JOIN_DATE: '入会日期',
    EXPORT_CARD_NUMBER: '会员证号', EXPORT_MIGRANT_WORKER: '农民工', EXPORT_DUES_STATUS: '会费缴纳',
  };
  const states = {
    EXPORT_PENDING: '待审批', EXPORT_APPROVED: '已批准，待下载', EXPORT_REJECTED: '已驳回',
    EXPORT_DOWNLOADED: '已导出', EXPORT_EXPIRED: '已过期',
  };
  const levels = { APPROVAL_LEADER: '单位负责人', APPROVAL_UPPER_TIER: '上级工会' };

  function buildFieldChoices() {
    const box = $('export-fields');
    if (box.children.length) return;
    for (const [k, v] of Object.entries(fieldNames)) {
      const div = el('div', 'form-check form-check-inline');
      const input = el('input', 'form-check-input');
      input.type = 'checkbox';
      input.id = 'export-field-' + k;
      input.value = k;
      const label = el('label', 'form-check-label', v);
      label.htmlFor = input.id;
      div.append(input, label);
      box.appendChild(div);
    }
  }

  async function load() {
    buildFieldChoices();
    const mayRequest = state.who.role === 'DATA_ADMIN' && state.org && WB.grassroots.indexOf(state.org.kind) >= 0;
    show('export-request-form', mayRequest);
    const rows = WB.clear('export-rows');
    try {
      const r = await api('ExportService.ListExportRequests', {});
      for (const x of r.exports || []) rows.appendChild(row(x));
      show('export-empty', !(r.exports || []).length);
    } catch (e) { showAlert(e.text); }
  }

  function row(x) {
    const q = x.request || {};
    const tr = el('tr');
    cell(tr, q.id); cell(tr, q.orgId); cell(tr, q.purpose); cell(tr, q.recipient);
    cell(tr, (q.fields || []).map((f) => fieldNames[f] || f).join('、'));
    cell(tr, q.requester + ' ' + WB.date(q.createdAtMs));
    cell(tr, (x.approvals || []).map((a) => (levels[a.level] || a.level) + (a.approved ? '同意' : '驳回') + '（' + a.approver + '）').join('；') || '—');
    cell(tr, states[x.state] || x.state);
    const td = cell(tr, '');
    if (x.state === 'EXPORT_PENDING' && state.who.username !== q.requester) {
      td.append(button('同意', 'btn-outline-success me-1', () => decide(q, false)),
        button('驳回', 'btn-outline-danger', () => decide(q, true)));
    }
    if (x.state === 'EXPORT_APPROVED' && state.who.username === q.requester) {
      td.appendChild(button('下载', 'btn-danger', () => download(q)));
    }
    return tr;
  }

  async function decide(q, reject) {
    text('export-error', '');
    const withNumbers = $('export-allow-numbers').checked;
    const allowed = withNumbers ? q.fields : (q.fields || []).filter((f) => f !== 'EXPORT_ID_NUMBER' && f !== 'EXPORT_PHONE');
    try {
      await api('ExportService.ApproveExport', {
        requestId: q.id, reject, allowedFields: reject ? [] : allowed, note: $('export-note').value.trim(),
      });
      showAlert(reject ? '已驳回。' : '已同意。', true);
      await load();
    } catch (e) { text('export-error', e.text); }
  }

  async function download(q) {
    text('export-error', '');
    try {
      const r = await api('ExportService.DownloadExport', { requestId: q.id, format: 'FILE_FORMAT_XLSX' });
      WB.saveBase64(r.content, r.filename);
      showAlert('已导出 ' + r.memberCount + ' 名会员。文件带有追溯标记，请按用途使用，不得转给他人。', true);
      await load();
    } catch (e) { text('export-error', e.text); }
  }

  $('export-request-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('export-error', '');
    const fields = Array.from(document.querySelectorAll('#export-fields input:checked')).map((i) => i.value);
    try {
      await api('ExportService.RequestExport', {
        orgId: state.who.orgId, purpose: $('export-purpose').value.trim(), fields,
        recipient: $('export-recipient').value.trim(), validDays: Number($('export-days').value || 7),
      });
      $('export-purpose').value = '';
      showAlert('已提交导出申请，等待单位负责人和上级工会审批。', true);
      await load();
    } catch (e) { text('export-error', e.text); }
  });

  $('trace-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = WB.clear('trace-result');
    try {
      const body = { fingerprint: $('trace-fingerprint').value.trim() };
      const file = $('trace-file').files[0];
      if (file) {
        const bytes = new Uint8Array(await file.arrayBuffer());
        let bin = '';
        for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
        body.file = btoa(bin);
      }
      const r = await api('ExportService.TraceExport', body);
      const q = (r.export || {}).request || {};
      out.textContent = '该文件来自导出申请 ' + q.id + '：' + q.requester + ' 于 ' + WB.date(q.createdAtMs) + ' 申请，用途“' +
        q.purpose + '”，接收人 ' + q.recipient + '；' + (q.downloadedBy ? q.downloadedBy + ' 于 ' + WB.date(q.downloadedAtMs) + ' 下载。' : '尚未下载。');
    } catch (e) { out.textContent = e.text; }
  });

  WB.view('export', { title: '数据导出', roles: ['DATA_ADMIN', 'REVIEWER', 'UNIT_LEADER'], load });
})();
