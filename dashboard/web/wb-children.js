// 下级组织: the children at a glance (activated, profile, members, progress
// against the target set for them, last sync, warnings), their targets, registering a child with the kinds allowed under this
// organisation (R1.1), and its accounts: reset a password, disable a leaver,
// create the successor (R10.3). Every new password is shown once, on a
// printable handover slip (开通通知单).
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, button } = WB;

  async function load() {
    show('child-form', false);
    show('accounts-box', false);
    show('correct-form', false);
    show('dissolve-form', false);
    show('training-form', false);
    show('target-form', false);
    const admin = state.who.role === 'DATA_ADMIN';
    show('child-add-open', admin && state.allowedChildKinds.length > 0);
    const rows = WB.clear('children-rows');
    try {
      const [list, progress, fresh, own] = await Promise.all([
        api('AdminService.ListChildOrgs', { parentId: state.who.orgId, pageSize: 500 }),
        api('MonitorService.GetProgress', { view: 'children', orgId: state.who.orgId }).catch(() => ({})),
        api('MonitorService.GetSyncFreshness').catch(() => ({})),
        api('AdminService.GetOrg', { orgId: state.who.orgId }).catch(() => ({})),
      ]);
      state.childTargets = (own.org && own.org.childTargets) || [];
      const figures = {};
      for (const p of progress.rows || []) figures[p.scope.replace(/^org:/, '')] = p;
      const synced = {};
      for (const n of fresh.nodes || []) synced[n.nodeId] = n;
      for (const o of list.orgs || []) {
        const f = figures[o.id] || {};
        const tr = el('tr');
        cell(tr, o.id); cell(tr, o.name); cell(tr, WB.kinds[o.kind] || o.kind);
        cell(tr, (f.activated || 0) + ' / ' + (f.orgs || 1));
        cell(tr, o.profileCompleteness + '%');
        const trained = (o.trainings || []).map((t) => t.date).sort().pop();
        cell(tr, trained ? trained : '未登记', trained ? '' : 'text-danger');
        cell(tr, WB.fmt(f.members) + ' 人');
        // The progress against the target this organisation set (or the
        // campaign's, for a district), red when behind its trajectory.
        const expected = Number(f.expectedGrassroots || 0) + Number(f.expectedMembers || 0) > 0;
        // Entered (建成) unions when the campaign's targets count those.
        const have = f.targetsCountEntered ? f.enteredGrassroots : f.grassroots;
        cell(tr, expected ? WB.fmt(have) + ' / ' + WB.fmt(f.expectedGrassroots) + ' 个，' +
          WB.fmt(f.members) + ' / ' + WB.fmt(f.expectedMembers) + ' 人' : '未设定',
        f.behind ? 'text-danger' : (expected ? '' : 'text-muted'));
        const s = synced[o.id];
        cell(tr, s ? (s.connected ? '在线 ' : '离线 ') + WB.date(s.lastChangeMs) : (o.hostNode === o.id ? '未连接' : '本节点'));
        cell(tr, f.openWarnings ? f.openWarnings + ' 条' : '—', f.openWarnings ? 'text-danger' : '');
        cell(tr, o.status === 'ORG_ACTIVE' ? '正常' : '已撤销');
        const td = cell(tr, '');
        if (admin) td.appendChild(button('账号', '', () => openAccounts(o)));
        if (admin && o.status === 'ORG_ACTIVE') {
          td.appendChild(button('设定目标', 'btn-link p-0 ms-2', () => openTarget(o)));
        }
        if (admin && o.status === 'ORG_ACTIVE') {
          td.appendChild(button('更正登记', 'btn-link p-0 ms-2', () => openCorrect(o)));
          td.appendChild(button('登记培训', 'btn-link p-0 ms-2', () => openTraining(o)));
          // A child running its own node keeps its members there: it is not
          // dissolved from here.
          if (o.hostNode !== o.id) {
            td.appendChild(button('撤销', 'btn-link p-0 ms-2 text-danger', () => openDissolve(o)));
          }
        }
        rows.appendChild(tr);
      }
      show('children-empty', !(list.orgs || []).length);
    } catch (e) { showAlert(e.text); }
  }

  // Fills a select with the kinds allowed under this organisation (R1.1).
  function kindOptions(id) {
    const select = WB.clear(id);
    for (const k of state.allowedChildKinds) {
      const o = el('option', '', WB.kinds[k] || k);
      o.value = k;
      select.appendChild(o);
    }
    return select;
  }

  // --- Correcting a child's registration (name, kind), with a reason. ---
  function openCorrect(o) {
    state.correcting = o;
    text('correct-title', '更正登记信息：' + o.name);
    $('correct-name').value = o.name;
    const kinds = kindOptions('correct-kind');
    // A kind no longer offered here stays selectable, so that a correction
    // of the name alone never changes the kind.
    if (state.allowedChildKinds.indexOf(o.kind) < 0) {
      const opt = el('option', '', WB.kinds[o.kind] || o.kind);
      opt.value = o.kind;
      kinds.appendChild(opt);
    }
    kinds.value = o.kind;
    $('correct-reason').value = '';
    text('correct-error', '');
    show('correct-form', true);
    $('correct-name').focus();
  }
  $('correct-cancel').addEventListener('click', () => show('correct-form', false));
  $('correct-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('correct-error', '');
    const o = state.correcting;
    const name = $('correct-name').value.trim();
    const kind = $('correct-kind').value;
    try {
      await api('AdminService.CorrectOrgRegistration', {
        orgId: o.id,
        name: name === o.name ? '' : name,
        kind: kind === o.kind ? 'ORG_KIND_UNSPECIFIED' : kind,
        reason: $('correct-reason').value.trim(),
      });
      showAlert('已更正 ' + o.id + ' 的登记信息。', true);
      await load();
    } catch (e) { text('correct-error', e.text); }
  });

  // --- Recording a training of a child's data administrator (R6). ---
  function openTraining(o) {
    state.training = o;
    text('training-title', '登记培训：' + o.name);
    $('training-trainee').value = '';
    $('training-date').value = WB.date(Date.now()).slice(0, 10);
    $('training-trainer').value = state.org ? state.org.name : '';
    text('training-error', '');
    show('training-form', true);
    $('training-trainee').focus();
  }
  $('training-cancel').addEventListener('click', () => show('training-form', false));
  $('training-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('training-error', '');
    const o = state.training;
    try {
      await api('AdminService.RecordTraining', {
        orgId: o.id,
        training: {
          trainee: $('training-trainee').value.trim(), date: $('training-date').value.trim(),
          trainer: $('training-trainer').value.trim(),
        },
      });
      showAlert('已登记 ' + o.name + ' 的培训。', true);
      await load();
    } catch (e) { text('training-error', e.text); }
  });

  // --- Setting a child's target (kept in this organisation's profile). ---
  function openTarget(o) {
    state.targeting = o;
    const t = (state.childTargets || []).find((x) => x.childId === o.id) || {};
    text('target-title', '设定目标：' + o.name);
    $('target-grassroots').value = t.expectedGrassroots || '';
    $('target-members').value = t.expectedMembers || '';
    text('target-error', '');
    show('target-form', true);
    $('target-grassroots').focus();
  }
  $('target-cancel').addEventListener('click', () => show('target-form', false));
  $('target-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('target-error', '');
    const o = state.targeting;
    const g = $('target-grassroots').value.trim();
    const m = $('target-members').value.trim();
    if (!/^\d+$/.test(g) || !/^\d+$/.test(m)) {
      text('target-error', '请填写整数（不设目标请两项都填 0）。');
      return;
    }
    try {
      await api('AdminService.SetChildTarget', { orgId: o.id, expectedGrassroots: g, expectedMembers: m });
      showAlert(Number(g) + Number(m) === 0 ? '已取消 ' + o.name + ' 的目标。' : '已设定 ' + o.name + ' 的目标。', true);
      await load();
    } catch (e) { text('target-error', e.text); }
  });

  // --- Dissolving a child (kept in history), with a reason. ---
  function openDissolve(o) {
    state.dissolving = o;
    text('dissolve-title', '撤销组织：' + o.name);
    $('dissolve-reason').value = '';
    $('dissolve-members-leave').checked = false;
    text('dissolve-error', '');
    show('dissolve-form', true);
    $('dissolve-reason').focus();
  }
  $('dissolve-cancel').addEventListener('click', () => show('dissolve-form', false));
  $('dissolve-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('dissolve-error', '');
    const o = state.dissolving;
    try {
      const r = await api('AdminService.DissolveOrg', {
        orgId: o.id, reason: $('dissolve-reason').value.trim(),
        membersLeave: $('dissolve-members-leave').checked,
      });
      showAlert('已撤销 ' + o.name + '：' + (r.membersLeft || 0) + ' 名会员作减员处理，停用账号 ' +
        (r.accountsDisabled || 0) + ' 个。', true);
      await load();
    } catch (e) {
      // The two refusals a clerk can fix here, said in their words.
      text('dissolve-error', e.text.indexOf('members_leave') >= 0
        ? '该组织尚有在册会员。请先为会员办理转出，或勾选“一并作减员处理”后再撤销。'
        : e.text.indexOf('active child organisations') >= 0
          ? '该组织尚有下级组织，请先撤销或转移其下级组织。'
          : e.text);
    }
  });

  // --- Registering a child. ---
  // The city's industry systems (controlled list); the first choice keeps
  // this organisation's own.
  function systemOptions() {
    // Without a list (a campaign naming no systems) any code may be typed.
    const listed = (state.systems || []).length > 0;
    show('child-system', listed);
    show('child-system-code', !listed);
    $('child-system-code').value = '';
    const select = WB.clear('child-system');
    const own = el('option', '', '与本单位相同');
    own.value = '';
    select.appendChild(own);
    for (const s of state.systems || []) {
      const o = el('option', '', s.label + '（' + s.code + '）');
      o.value = s.code;
      select.appendChild(o);
    }
  }
  $('child-add-open').addEventListener('click', () => {
    kindOptions('child-kind');
    systemOptions();
    text('child-error', '');
    show('child-form', true);
    $('child-name').focus();
  });
  $('child-cancel').addEventListener('click', () => show('child-form', false));
  $('child-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('child-error', '');
    const id = $('child-id').value.trim();
    const org = {
      id, name: $('child-name').value.trim(), kind: $('child-kind').value,
      region: $('child-region').value.trim(), system: (state.systems || []).length ? $('child-system').value : $('child-system-code').value.trim(),
    };
    if ($('child-own-node').checked) {
      if (!id) { text('child-error', '独立部署节点的组织须填写组织编号（与其节点证书一致）'); return; }
      org.hostNode = id;
    }
    try {
      const r = await api('AdminService.CreateChildOrg', {
        parentId: state.who.orgId, org,
        adminUsername: $('child-admin').value.trim(), adminDisplayName: $('child-admin-name').value.trim(),
        leaderUsername: $('child-leader').value.trim(),
      });
      for (const f of ['child-id', 'child-name', 'child-region', 'child-admin', 'child-admin-name', 'child-leader']) $(f).value = '';
      $('child-own-node').checked = false;
      show('child-form', false);
      const slips = [{ org: r.org, username: r.adminUsername, password: r.initialPassword, role: 'DATA_ADMIN' }];
      if (r.leaderUsername) slips.push({ org: r.org, username: r.leaderUsername, password: r.leaderInitialPassword, role: 'UNIT_LEADER' });
      showSlips(slips);
      await load();
    } catch (e) { text('child-error', e.text); }
  });

  // --- A child's accounts. ---
  async function openAccounts(org) {
    state.accountsOrg = org;
    text('accounts-title', org.name + ' 的账号');
    text('accounts-error', '');
    show('accounts-box', true);
    const rows = WB.clear('accounts-rows');
    try {
      const r = await api('AdminService.ListAccounts', { orgId: org.id });
      for (const a of r.accounts || []) {
        const tr = el('tr');
        cell(tr, a.username); cell(tr, a.displayName || '—'); cell(tr, WB.roles[a.role] || a.role);
        cell(tr, WB.credentials[a.state] || a.state); cell(tr, WB.date(a.createdAtMs));
        const td = cell(tr, '');
        if (a.state === 'CREDENTIAL_DISABLED') {
          td.appendChild(button('启用', 'btn-outline-secondary me-1', () => act('EnableAccount', { username: a.username })));
        } else {
          td.appendChild(button('重置密码', 'btn-outline-secondary me-1', () => reset(a)));
          td.appendChild(button('停用', 'btn-outline-danger', () => disable(a)));
        }
        rows.appendChild(tr);
      }
    } catch (e) { text('accounts-error', e.text); }
  }
  async function act(method, body) {
    text('accounts-error', '');
    try {
      const r = await api('AdminService.' + method, body);
      await openAccounts(state.accountsOrg);
      return r;
    } catch (e) { text('accounts-error', e.text); return null; }
  }
  async function reset(a) {
    const r = await act('ResetPassword', { username: a.username });
    if (r) showSlips([{ org: state.accountsOrg, username: a.username, password: r.initialPassword, role: a.role }]);
  }
  async function disable(a) {
    const reason = $('accounts-reason').value.trim();
    if (!reason) { text('accounts-error', '请先填写停用原因（例如：调离岗位）'); $('accounts-reason').focus(); return; }
    await act('DisableAccount', { username: a.username, reason });
  }
  $('accounts-create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = $('accounts-role').value;
    const r = await act('CreateAccount', {
      orgId: state.accountsOrg.id, username: $('accounts-username').value.trim(), role,
      displayName: $('accounts-display').value.trim(),
    });
    if (r) {
      $('accounts-username').value = '';
      $('accounts-display').value = '';
      showSlips([{ org: state.accountsOrg, username: r.account.username, password: r.initialPassword, role }]);
    }
  });
  $('accounts-close').addEventListener('click', () => show('accounts-box', false));

  // --- The handover slip: shown once, printable. ---
  function showSlips(slips) {
    const box = WB.clear('slips');
    for (const s of slips) {
      const card = el('div', 'slip card card-body mb-3');
      card.appendChild(el('h2', 'h5 text-center', '工会实名制数据库账号开通通知单'));
      const dl = el('dl', 'row mb-2');
      const own = s.org.hostNode && s.org.hostNode !== state.who.nodeId;
      for (const [k, v] of [
        ['工会名称', s.org.name], ['组织编号', s.org.id], ['账号', s.username], ['账号角色', WB.roles[s.role] || s.role],
        ['初始密码', s.password],
        ['工作台地址', own ? '本单位节点的工作台地址（由本单位运维人员告知）' : location.origin + '/wb'],
        ['开通单位', state.org ? state.org.name : state.who.orgId], ['开通日期', WB.date(Date.now()).slice(0, 10)],
      ]) {
        dl.append(el('dt', 'col-4', k), el('dd', 'col-8 ' + (k === '初始密码' ? 'slip-password' : ''), v));
      }
      card.appendChild(dl);
      const todo = el('ol', 'small');
      for (const t of ['用上面的账号和初始密码登录工作台，按提示修改密码（初始密码只能用一次）。',
        '在“本单位”中完善工会信息（统一社会信用代码、主席、联系人等）。',
        '在“会员”或“模板与导入”中录入会员；有下级组织的，在“下级组织”中为其开通账号。',
        '本通知单请当面交给本人，妥善保管，不得转交他人；密码遗失请联系上级工会重置。']) {
        todo.appendChild(el('li', '', t));
      }
      card.append(el('div', 'fw-bold', '首次登录后请：'), todo, el('p', 'mt-3 mb-0', '领取人签字：＿＿＿＿＿＿　　日期：＿＿＿＿＿＿'));
      box.appendChild(card);
    }
    show('slip-box', true);
    $('slip-print').focus();
  }
  $('slip-print').addEventListener('click', () => window.print());
  $('slip-close').addEventListener('click', () => { WB.clear('slips'); show('slip-box', false); });

  WB.view('children', { title: '下级组织', roles: ['DATA_ADMIN', 'REVIEWER', 'UNIT_LEADER'], parentOnly: true, load });
})();
