// Sessions and navigation: login, the forced change of an initial password
// (R3) with the policy as the clerk types, logout, the idle timeout, and the
// menu of the views the account's role may open. Loaded last.
'use strict';

(function () {
  const { $, state, api, show, text, showAlert } = WB;
  let expiryTimer = 0;

  function showPage(name) {
    for (const p of ['login', 'password', 'app']) show('page-' + p, p === name);
    show('logout', name !== 'login');
    show('who', name !== 'login');
  }
  WB.onLoggedOut = (why) => {
    state.who = null;
    clearTimeout(expiryTimer);
    text('login-notice', why || '');
    show('login-notice', !!why);
    showPage('login');
  };

  async function start() {
    try {
      state.who = await api('AdminService.WhoAmI');
    } catch (e) {
      showPage('login');
      return;
    }
    const who = state.who;
    text('who', who.username + '（' + (WB.roles[who.role] || who.role) + '，' + who.orgId + '）');
    // The session ends at expiresAtMs unless used: say so when it does.
    clearTimeout(expiryTimer);
    const left = Number(who.expiresAtMs) - Date.now();
    if (left > 0 && left < 2147483647) {
      expiryTimer = setTimeout(() => start(), left + 1000);
    }
    if (who.mustChangePassword) {
      showPage('password');
      $('old-password').focus();
      return;
    }
    try {
      const r = await api('AdminService.GetOrg', { orgId: who.orgId });
      state.org = r.org;
      state.allowedChildKinds = r.allowedChildKinds || [];
      state.systems = r.systems || [];
    } catch (e) {
      state.org = null;
      state.allowedChildKinds = [];
      state.systems = [];
    }
    buildMenu();
    showPage('app');
    route();
  }
  WB.restart = start;

  function buildMenu() {
    const menu = $('menu');
    menu.textContent = '';
    for (const [name, spec] of Object.entries(WB.views)) {
      if (!WB.allowed(spec)) continue;
      const li = WB.el('li', 'nav-item');
      const a = WB.el('a', 'nav-link', spec.title);
      a.href = '#' + name;
      a.id = 'menu-' + name;
      li.appendChild(a);
      menu.appendChild(li);
    }
  }

  function route() {
    const names = Object.keys(WB.views).filter((n) => WB.allowed(WB.views[n]));
    const asked = (location.hash || '').slice(1);
    const name = names.indexOf(asked) >= 0 ? asked : names[0];
    for (const n of Object.keys(WB.views)) {
      show('view-' + n, n === name);
      const link = $('menu-' + n);
      if (link) {
        link.classList.toggle('active', n === name);
        if (n === name) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
    }
    text('crumb', WB.views[name].title);
    showAlert('');
    WB.views[name].load();
  }
  window.addEventListener('hashchange', () => {
    if (state.who && !state.who.mustChangePassword) route();
  });

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('login-error', '');
    show('login-notice', false);
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
    WB.onLoggedOut('');
  });

  const problemNames = {
    too_short: '太短：至少10位', too_long: '太长', repeated_character: '不能是同一个字符重复',
    too_few_classes: '需要大写字母、小写字母、数字、符号中的至少三类',
    contains_username: '不能包含账号名', dictionary_word: '太常见，容易被猜到',
  };
  let policyTimer = 0;
  $('new-password').addEventListener('input', () => {
    clearTimeout(policyTimer);
    policyTimer = setTimeout(async () => {
      const list = WB.clear('policy');
      const pw = $('new-password').value;
      if (!pw) return;
      try {
        const r = await api('AdminService.CheckNewPassword', { newPassword: pw });
        const items = r.acceptable ? ['✓ 符合要求'] : (r.problems || []).map((c) => '✗ ' + (problemNames[c] || c));
        for (const t of items) list.appendChild(WB.el('li', r.acceptable ? 'text-success' : 'text-danger', t));
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
      WB.clear('policy');
      await start();
    } catch (e) {
      text('password-error', e.text || '修改失败');
    }
  });

  document.addEventListener('DOMContentLoaded', start);
})();
