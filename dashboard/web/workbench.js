// The workbench page: every action is one call to /api/v1/<Service>.<Method>,
// the JSON form of the gRPC API (dashboard/workbench.h). Rules live on the
// server; what the page checks as the clerk types (ID number and credit code
// check characters, the password policy through CheckNewPassword) only helps
// them fix input before they send it.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { who: null, membersToken: '', revealId: '' };

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)us_csrf=([0-9a-f]+)/);
    return m ? m[1] : '';
  }

  // Calls one endpoint; resolves to the response, rejects with
  // {code, text} where text is the Chinese message to show.
  async function api(method, body) {
    const res = await fetch('/api/v1/' + method, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify(body || {}),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = data.error || { code: 'UNKNOWN', text: '请求失败（' + res.status + '）' };
      if (e.code === 'UNAUTHENTICATED' && method !== 'AdminService.Login') {
        showPage('login');
      }
      throw e;
    }
    return data;
  }

  function show(el, on) { el.hidden = !on; }
  function text(id, value) { $(id).textContent = value; }
  function showAlert(message) {
    text('alert', message || '');
    show($('alert'), !!message);
  }
  function showPage(name) {
    for (const p of ['login', 'password', 'app']) show($('page-' + p), p === name);
    show($('logout'), name !== 'login');
    show($('who'), name !== 'login');
  }
  function fmt(n) { return Number(n || 0).toLocaleString('zh-CN'); }
  function cell(row, value, cls) {
    const td = document.createElement('td');
    td.textContent = value;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  // --- GB 11643 (ID number) and GB 32100 (credit code) check characters. ---
  function idNumberProblem(v) {
    if (!/^\d{17}[\dX]$/.test(v)) return '应为18位：17位数字，最后一位是数字或 X';
    const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(v[i]) * w[i];
    if ('10X98765432'[sum % 11] !== v[17]) return '校验位不对，请核对号码';
    return '';
  }
  function creditCodeProblem(v) {
    const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
    if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(v)) return '应为18位数字或大写字母（不含 I、O、Z、S、V）';
    const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += chars.indexOf(v[i]) * w[i];
    const check = (31 - (sum % 31)) % 31;
    if (chars[check] !== v[17]) return '校验位不对，请核对代码';
    return '';
  }
  function liveCheck(input, errorId, problemOf) {
    input.addEventListener('input', () => {
      const v = input.value.trim().toUpperCase();
      const p = v ? problemOf(v) : '';
      input.classList.toggle('is-invalid', !!p);
      input.classList.toggle('is-valid', !!v && !p);
      text(errorId, p);
    });
  }

  // --- Sessions. ---
  async function start() {
    try {
      state.who = await api('AdminService.WhoAmI');
    } catch (e) {
      showPage('login');
      return;
    }
    text('who', state.who.username + '（' + state.who.orgId + '）');
    if (state.who.mustChangePassword) {
      showPage('password');
      $('old-password').focus();
      return;
    }
    showPage('app');
    route();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('login-error', '');
    try {
      await api('AdminService.Login', {
        username: $('login-user').value.trim(),
        password: $('login-password').value,
      });
      $('login-password').value = '';
      await start();
    } catch (e) {
      text('login-error', e.code === 'UNAUTHENTICATED' ? '账号或密码不正确，请重新输入' : (e.text || '登录失败'));
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('AdminService.Logout'); } catch (e) { /* Already out. */ }
    state.who = null;
    showPage('login');
  });

  let policyTimer = 0;
  $('new-password').addEventListener('input', () => {
    clearTimeout(policyTimer);
    policyTimer = setTimeout(async () => {
      const list = $('policy');
      list.textContent = '';
      const pw = $('new-password').value;
      if (!pw) return;
      try {
        const r = await api('AdminService.CheckNewPassword', { newPassword: pw });
        const names = {
          too_short: '太短：至少10位', too_long: '太长', repeated_character: '不能是同一个字符重复',
          too_few_classes: '需要大写字母、小写字母、数字、符号中的至少三类',
          contains_username: '不能包含账号名', dictionary_word: '太常见，容易被猜到',
        };
        const items = r.acceptable ? ['✓ 符合要求'] : (r.problems || []).map((c) => '✗ ' + (names[c] || c));
        for (const t of items) {
          const li = document.createElement('li');
          li.textContent = t;
          li.className = r.acceptable ? 'text-success' : 'text-danger';
          list.appendChild(li);
        }
      } catch (e) { /* The submit will say. */ }
    }, 250);
  });

  $('password-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('password-error', '');
    if ($('new-password').value !== $('new-password2').value) {
      text('password-error', '两次输入的新密码不一致');
      return;
    }
    try {
      await api('AdminService.ChangePassword', {
        oldPassword: $('old-password').value,
        newPassword: $('new-password').value,
      });
      for (const id of ['old-password', 'new-password', 'new-password2']) $(id).value = '';
      await start();
    } catch (e) {
      text('password-error', e.text || '修改失败');
    }
  });

  // --- Views. ---
  const views = { unit: '本单位', children: '下级组织', members: '会员', progress: '进度与预警' };
  function route() {
    const name = (location.hash || '#unit').slice(1);
    const view = views[name] ? name : 'unit';
    for (const v of Object.keys(views)) {
      show($('view-' + v), v === view);
      $('menu-' + v).classList.toggle('active', v === view);
    }
    text('crumb', views[view]);
    showAlert('');
    ({ unit: loadUnit, children: loadChildren, members: loadMembers, progress: loadProgress })[view]();
  }
  window.addEventListener('hashchange', () => { if (state.who && !state.who.mustChangePassword) route(); });

  // 本单位
  const kinds = {
    CITY_FEDERATION: '市总工会', DEV_ZONE_FEDERATION: '开发区总工会', DISTRICT_FEDERATION: '区（县）市总工会',
    INDUSTRY_UNION: '市产业（系统）工会', CITY_DIRECT_GRASSROOTS: '市总直属基层工会',
    TOWNSHIP_FEDERATION: '乡镇（街道）工会联合会', PARK_FEDERATION: '县（区）属开发区（产业园区）工会联合会',
    JOINT_GRASSROOTS: '基层联合工会', INDEPENDENT_GRASSROOTS: '基层法人独立工会', VILLAGE_JOINT: '村（社区）联合工会',
  };
  async function loadUnit() {
    try {
      const { org } = await api('AdminService.GetOrg', { orgId: state.who.orgId });
      const dl = $('unit-registration');
      dl.textContent = '';
      for (const [k, v] of [['组织编号', org.id], ['名称', org.name], ['类别', kinds[org.kind] || org.kind],
        ['上级组织', org.parentId || '—'], ['所属区域', org.region || '—'], ['所属系统', org.system || '—']]) {
        const dt = document.createElement('dt'); dt.className = 'col-sm-2'; dt.textContent = k;
        const dd = document.createElement('dd'); dd.className = 'col-sm-10'; dd.textContent = v;
        dl.append(dt, dd);
      }
      text('unit-completeness', org.profileCompleteness);
      $('unit-completeness-bar').style.width = org.profileCompleteness + '%';
      $('unit-credit').value = org.creditCode || '';
      $('unit-founding').value = org.foundingDate || '';
      $('unit-address').value = org.address || '';
      $('unit-employees').value = org.employeeCount || '';
      $('unit-chair').value = (org.chair || {}).name || '';
      $('unit-chair-phone').value = (org.chair || {}).phone || '';
      $('unit-contact').value = (org.contact || {}).name || '';
      $('unit-contact-phone').value = (org.contact || {}).phone || '';
      $('unit-admin').value = (org.dataAdmin || {}).name || '';
    } catch (e) { showAlert(e.text); }
  }
  liveCheck($('unit-credit'), 'unit-credit-error', creditCodeProblem);
  $('unit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('unit-error', '');
    text('unit-saved', '');
    const profile = {
      creditCode: $('unit-credit').value.trim().toUpperCase(),
      foundingDate: $('unit-founding').value.trim(),
      address: $('unit-address').value.trim(),
      employeeCount: Number($('unit-employees').value.trim() || 0),
      chair: { name: $('unit-chair').value.trim(), phone: $('unit-chair-phone').value.trim() },
      contact: { name: $('unit-contact').value.trim(), phone: $('unit-contact-phone').value.trim() },
      dataAdmin: { name: $('unit-admin').value.trim() },
    };
    try {
      await api('AdminService.UpdateOrgProfile', { orgId: state.who.orgId, profile });
      text('unit-saved', '已保存。');
      await loadUnit();
    } catch (e) { text('unit-error', e.text); }
  });

  // 下级组织
  async function loadChildren() {
    const rows = $('children-rows');
    rows.textContent = '';
    try {
      const r = await api('AdminService.ListChildOrgs', { parentId: state.who.orgId, pageSize: 100 });
      for (const o of r.orgs || []) {
        const tr = document.createElement('tr');
        cell(tr, o.id); cell(tr, o.name); cell(tr, kinds[o.kind] || o.kind);
        cell(tr, o.profileCompleteness + '%'); cell(tr, o.status === 'ORG_ACTIVE' ? '正常' : '已撤销');
        rows.appendChild(tr);
      }
      show($('children-empty'), !(r.orgs || []).length);
    } catch (e) { showAlert(e.text); }
  }

  // 会员
  async function loadMembers(more) {
    const rows = $('member-rows');
    if (!more) { rows.textContent = ''; state.membersToken = ''; }
    try {
      const r = await api('AdminService.ListMembers', {
        orgId: state.who.orgId, pageSize: 50, pageToken: state.membersToken,
        namePrefix: $('member-name-prefix').value.trim(),
      });
      for (const m of r.members || []) {
        const tr = document.createElement('tr');
        cell(tr, m.name); cell(tr, m.gender === 'FEMALE' ? '女' : '男');
        cell(tr, m.idNumber, 'masked'); cell(tr, m.phone || '—', 'masked'); cell(tr, m.workplace || '—');
        const td = cell(tr, '');
        const b = document.createElement('button');
        b.type = 'button'; b.className = 'btn btn-link btn-sm p-0'; b.textContent = '查看完整号码';
        b.addEventListener('click', () => openReveal(m.id, m.name));
        td.appendChild(b);
        rows.appendChild(tr);
      }
      state.membersToken = r.nextPageToken || '';
      show($('member-more'), !!state.membersToken);
      show($('member-empty'), !rows.children.length);
    } catch (e) { showAlert(e.text); }
  }
  $('member-search').addEventListener('submit', (ev) => { ev.preventDefault(); loadMembers(false); });
  $('member-more').addEventListener('click', () => loadMembers(true));
  $('member-add-open').addEventListener('click', () => { show($('member-form'), true); $('member-name').focus(); });
  $('member-cancel').addEventListener('click', () => show($('member-form'), false));
  liveCheck($('member-id-number'), 'member-id-number-error', idNumberProblem);
  // GB 11643: the 17th digit is odd for men, even for women; fill it in.
  $('member-id-number').addEventListener('input', () => {
    const v = $('member-id-number').value.trim().toUpperCase();
    if (!idNumberProblem(v)) $('member-gender').value = Number(v[16]) % 2 ? 'MALE' : 'FEMALE';
  });
  $('member-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('member-error', '');
    const member = {
      name: $('member-name').value.trim(),
      idNumber: $('member-id-number').value.trim().toUpperCase(),
      phone: $('member-phone').value.trim(),
      gender: $('member-gender').value,
      ethnicity: $('member-ethnicity').value.trim(),
      joinDate: $('member-join').value.trim(),
      workplace: $('member-workplace').value.trim(),
      migrantWorker: $('member-migrant').checked,
    };
    try {
      await api('AdminService.AddMember', { member });
      for (const id of ['member-name', 'member-id-number', 'member-phone', 'member-join', 'member-workplace']) {
        $(id).value = '';
        $(id).classList.remove('is-valid');
      }
      show($('member-form'), false);
      await loadMembers(false);
    } catch (e) { text('member-error', e.text); }
  });
  function openReveal(id, name) {
    state.revealId = id;
    text('reveal-result', name + '：');
    text('reveal-error', '');
    show($('reveal-box'), true);
    $('reveal-reason').focus();
  }
  $('reveal-close').addEventListener('click', () => { show($('reveal-box'), false); text('reveal-result', ''); });
  $('reveal-submit').addEventListener('click', async () => {
    text('reveal-error', '');
    try {
      const r = await api('AdminService.GetMember', { memberId: state.revealId, revealReason: $('reveal-reason').value.trim() });
      text('reveal-result', r.member.name + '：' + r.member.idNumber + (r.member.phone ? '，' + r.member.phone : ''));
    } catch (e) { text('reveal-error', e.text); }
  });

  // 进度与预警
  async function loadProgress() {
    try {
      const r = await api('MonitorService.GetProgress', { view: 'children', orgId: state.who.orgId });
      const t = r.total || {};
      text('progress-grassroots', fmt(t.grassroots) + ' 个');
      text('progress-members', fmt(t.members) + ' 人');
      text('progress-complete', fmt(t.profileComplete) + ' 个');
      text('progress-activated', fmt(t.activated) + ' 个');
    } catch (e) { showAlert(e.text); }
    const rows = $('warning-rows');
    rows.textContent = '';
    try {
      const w = await api('MonitorService.ListWarnings', { orgId: state.who.orgId });
      const sev = { SEVERITY_NOTICE: '提示', SEVERITY_WARNING: '预警', SEVERITY_SERIOUS: '严重' };
      for (const x of w.warnings || []) {
        const tr = document.createElement('tr');
        cell(tr, sev[x.severity] || x.severity); cell(tr, x.orgId); cell(tr, x.text);
        rows.appendChild(tr);
      }
      show($('warning-empty'), !(w.warnings || []).length);
    } catch (e) { showAlert(e.text); }
  }

  document.addEventListener('DOMContentLoaded', start);
})();
