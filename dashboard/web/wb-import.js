// 模板与导入: the blank templates; a filled file uploaded, checked (dry run)
// with a table of row / column / value / reason a clerk can fix from, then
// imported with a progress bar driven by the import's streaming progress.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert } = WB;
  const phases = {
    IMPORT_UPLOADING: '正在上传', IMPORT_VALIDATING: '正在检查', IMPORT_COMMITTING: '正在写入', IMPORT_DONE: '完成',
  };

  function load() {
    const leaf = state.org && WB.grassroots.indexOf(state.org.kind) >= 0;
    $('import-kind').value = leaf ? 'TEMPLATE_MEMBER' : 'TEMPLATE_ORG';
    show('import-kind-row', !leaf && state.allowedChildKinds.length > 0);
  }

  async function template(format) {
    try {
      const r = await api('IngestService.GetTemplate', { kind: $('import-kind').value, format });
      WB.saveBase64(r.content, r.filename, r.contentType);
    } catch (e) { showAlert(e.text); }
  }
  $('template-xlsx').addEventListener('click', () => template('FILE_FORMAT_XLSX'));
  $('template-csv').addEventListener('click', () => template('FILE_FORMAT_CSV'));

  function setProgress(p) {
    const c = p.counts || {};
    const total = Number(c.totalRows || 0);
    const done = p.phase === 'IMPORT_COMMITTING' ? Number(c.committedRows || 0) : Number(c.rowsRead || 0);
    const pct = p.phase === 'IMPORT_DONE' ? 100 : (total ? Math.min(99, Math.round(100 * done / total)) : 0);
    const bar = $('import-bar');
    bar.style.width = pct + '%';
    bar.setAttribute('aria-valuenow', String(pct));
    text('import-phase', (phases[p.phase] || '') + (done ? '：' + WB.fmt(done) + (total ? ' / ' + WB.fmt(total) : '') + ' 行' : ''));
  }

  // Uploads the chosen file; reads the NDJSON progress lines as they come.
  async function run(dryRun) {
    const file = $('import-file').files[0];
    text('import-error', '');
    if (!file) { text('import-error', '请先选择要导入的文件（XLSX 或 CSV）'); return; }
    const options = { kind: $('import-kind').value, dryRun, filename: file.name, sizeBytes: String(file.size) };
    if (!dryRun) options.mode = 'IMPORT_ALL_OR_NOTHING';
    show('import-progress', true);
    show('import-result', false);
    setProgress({ phase: 'IMPORT_UPLOADING' });
    for (const b of ['import-check', 'import-run']) $(b).disabled = true;
    try {
      const last = await WB.upload('IngestService.Import', file, options, setProgress);
      if (!last || !last.summary) throw { text: '导入没有完成，请重试' };
      showResult(last.summary);
    } catch (e) {
      text('import-error', e.text || '导入失败');
      show('import-progress', false);
    } finally {
      for (const b of ['import-check', 'import-run']) $(b).disabled = false;
    }
  }
  $('import-check').addEventListener('click', () => run(true));
  $('import-run').addEventListener('click', () => run(false));
  $('import-file').addEventListener('change', () => { show('import-result', false); show('import-progress', false); });

  function showResult(s) {
    state.importReport = s.errorReportCsv || '';
    text('import-message', s.message || '');
    $('import-message').className = 'fw-bold ' + (s.ok ? 'text-success' : 'text-danger');
    WB.cellErrors('import-errors', s.errors);
    const n = Number(s.totalErrors || 0);
    show('import-errors-box', n > 0);
    text('import-errors-count', n > (s.errors || []).length ? '共 ' + n + ' 处问题，下面列出前 ' + (s.errors || []).length + ' 处；全部问题见“下载问题清单”。' : '共 ' + n + ' 处问题：');
    show('import-report', !!state.importReport);
    show('import-result', true);
  }
  $('import-report').addEventListener('click', () => {
    WB.saveBase64(state.importReport, '导入问题清单.csv', 'text/csv');
  });

  WB.view('import', { title: '模板与导入', roles: ['DATA_ADMIN'], load });
})();
