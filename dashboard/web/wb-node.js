// 节点: for the node's operators: the links to the parent and the children,
// their lag, last acknowledgement and digest state, and a resync of a child;
// the node's backups (list, take one now, verify one).
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, button } = WB;
  const states = { idle: '空闲', handshaking: '握手中', streaming: '同步中', closed: '已断开' };
  const digests = { unknown: '未知', checking: '核对中', agree: '一致', differ: '不一致', repairing: '修复中' };

  function stale(s) {
    if (!s) return '—';
    if (s < 3600) return Math.round(s / 60) + ' 分钟';
    if (s < 172800) return Math.round(s / 3600) + ' 小时';
    return Math.round(s / 86400) + ' 天';
  }

  function size(bytes) {
    const n = Number(bytes) || 0;
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MB';
    return (n / 1073741824).toFixed(2) + ' GB';
  }

  async function loadBackups() {
    const rows = WB.clear('backup-rows');
    let r;
    try {
      r = await api('AdminService.ListBackups');
    } catch (e) {
      const none = e.code === 'FAILED_PRECONDITION';
      show('backup-none', none); show('backup-box', false); text('backup-summary', '');
      if (!none) showAlert(e.text);
      return;
    }
    show('backup-none', false); show('backup-box', true);
    let summary = '备份目录 ' + r.backupDir + '，共 ' + (r.backups || []).length + ' 份。';
    if (Number(r.runningSinceMs)) summary += '正在备份（' + r.runningTrigger + ' 于 ' + WB.date(r.runningSinceMs) + ' 开始）。';
    if (Number(r.nextScheduledMs)) summary += '下次自动备份：' + WB.date(r.nextScheduledMs) + '。';
    if (r.lastError) summary += '上次备份失败（' + WB.date(r.lastErrorMs) + '）：' + r.lastError;
    text('backup-summary', summary);
    $('backup-summary').className = r.lastError ? 'text-danger' : '';
    for (const b of (r.backups || []).slice().reverse()) {
      const tr = el('tr');
      cell(tr, b.backupId); cell(tr, WB.date(b.createdMs)); cell(tr, size(b.sizeBytes));
      cell(tr, b.files); cell(tr, b.trigger === 'schedule' ? '自动' : b.trigger);
      cell(tr, '').appendChild(button('校验', 'btn-outline-secondary', async () => {
        try {
          await api('AdminService.VerifyBackup', { backupId: b.backupId });
          showAlert('备份 ' + b.backupId + ' 完好：每个文件都与校验和一致。', true);
        } catch (e) { showAlert('备份 ' + b.backupId + ' 校验未通过：' + e.text); }
      }));
      rows.appendChild(tr);
    }
  }

  async function backupNow() {
    const b = $('backup-now');
    b.disabled = true;
    showAlert('正在备份，请稍候……', true);
    try {
      const r = await api('AdminService.CreateBackup');
      showAlert('已完成备份 ' + r.backup.backupId + '（' + size(r.backup.sizeBytes) + '）。', true);
    } catch (e) { showAlert(e.text); }
    b.disabled = false;
    await loadBackups();
  }

  async function load() {
    const rows = WB.clear('node-rows');
    try {
      const r = await api('AdminService.GetReplicationStatus');
      text('node-summary', '节点 ' + r.nodeId + '，本地日志位置 ' + r.logEnd + (Number(r.refusedStreams) ? '，已拒绝的连接 ' + r.refusedStreams + ' 次' : ''));
      for (const l of r.links || []) {
        const tr = el('tr', l.digest === 'differ' ? 'table-danger' : '');
        cell(tr, l.peer); cell(tr, l.direction === 'parent' ? '上级' : '下级');
        cell(tr, states[l.state] || l.state); cell(tr, l.lagPositions + ' 条 / ' + l.lagSeconds + ' 秒');
        cell(tr, WB.date(l.lastAckMs)); cell(tr, WB.date(l.lastReceiveMs));
        cell(tr, digests[l.digest] || l.digest || '—');
        const td = cell(tr, '');
        if (l.direction === 'child') {
          td.appendChild(button('重新同步', 'btn-outline-secondary', async () => {
            try {
              await api('AdminService.ForceResync', { childId: l.peer });
              showAlert('已要求 ' + l.peer + ' 重新同步。', true);
              await load();
            } catch (e) { showAlert(e.text); }
          }));
        }
        rows.appendChild(tr);
      }
      show('node-empty', !(r.links || []).length);
    } catch (e) { showAlert(e.text); }
    const fresh = WB.clear('fresh-rows');
    try {
      const f = await api('MonitorService.GetSyncFreshness');
      for (const n of f.nodes || []) {
        const tr = el('tr', Number(n.staleSeconds) > 86400 ? 'table-warning' : '');
        cell(tr, n.nodeId); cell(tr, n.orgName); cell(tr, WB.date(n.lastChangeMs)); cell(tr, WB.date(n.lastContactMs));
        cell(tr, n.connected ? '在线' : '—'); cell(tr, stale(Number(n.staleSeconds)));
        fresh.appendChild(tr);
      }
    } catch (e) { showAlert(e.text); }
    await loadBackups();
  }

  $('backup-now').addEventListener('click', backupNow);

  WB.view('node', { title: '节点', roles: ['OPERATOR', 'DATA_ADMIN'], nodeOnly: true, load });
})();
