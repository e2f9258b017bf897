// The workbench's core: the one call to the JSON API, small DOM helpers, the
// Chinese names of enum values, and the registry of views. Every rule lives
// on the server (dashboard/workbench.h); what a view checks as the clerk
// types only helps them fix input before they send it.
'use strict';

window.WB = (function () {
  const $ = (id) => document.getElementById(id);
  const state = { who: null, org: null };

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)us_csrf=([0-9a-f]+)/);
    return m ? m[1] : '';
  }
  function headers(extra) {
    return Object.assign({ 'X-CSRF-Token': csrf() }, extra || {});
  }

  // Calls one endpoint; resolves to the response, rejects with {code, text}
  // where text is the Chinese message to show. An expired or ended session
  // takes the clerk back to the login page, saying why.
  async function api(method, body) {
    const res = await fetch('/api/v1/' + method, {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body || {}),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw failure(method, res.status, data);
    return data;
  }
  function failure(method, status, data) {
    const e = data.error || { code: 'UNKNOWN', text: '请求失败（' + status + '）' };
    if (typeof e === 'string') return { code: 'HTTP_' + status, text: e };
    if (e.code === 'UNAUTHENTICATED' && method !== 'AdminService.Login' && WB.onLoggedOut) {
      WB.onLoggedOut('登录已超时或账号已被停用，请重新登录。');
    }
    return e;
  }

  function show(el, on) { (typeof el === 'string' ? $(el) : el).hidden = !on; }
  function text(id, value) { $(id).textContent = value == null ? '' : value; }
  function showAlert(message, ok) {
    const a = $('alert');
    a.className = 'alert m-3 ' + (ok ? 'alert-success' : 'alert-danger');
    a.textContent = message || '';
    show(a, !!message);
  }
  function fmt(n) { return Number(n || 0).toLocaleString('zh-CN'); }
  function date(ms) {
    if (!Number(ms)) return '—';
    const d = new Date(Number(ms));
    const p = (x) => String(x).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
      p(d.getHours()) + ':' + p(d.getMinutes());
  }
  function el(tag, cls, content) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content != null) e.textContent = content;
    return e;
  }
  function cell(row, value, cls) {
    const td = el('td', cls, value);
    row.appendChild(td);
    return td;
  }
  function button(label, cls, onClick) {
    const b = el('button', 'btn btn-sm ' + (cls || 'btn-link p-0'), label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }
  function clear(id) { const e = $(id); e.textContent = ''; return e; }
  // The rows of an upload's cell errors (row, column, value, reason) into the
  // table body `id`; the value may be personal, so it is marked masked.
  function cellErrors(id, errors) {
    const rows = clear(id);
    for (const e of errors || []) {
      const tr = el('tr');
      cell(tr, e.row); cell(tr, e.column || '整行'); cell(tr, e.value || '', 'masked'); cell(tr, e.reason);
      rows.appendChild(tr);
    }
  }
  // Uploads `file` to the upload endpoint `method` with `options`; calls
  // `onLine` with every JSON line of the answer as it arrives and returns the
  // last. Rejects with {code, text} on an error line or a failed request.
  async function upload(method, file, options, onLine) {
    const res = await fetch('/api/v1/' + method, {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: headers({ 'Content-Type': 'application/octet-stream',
        'X-Upload-Options': encodeURIComponent(JSON.stringify(options)) }),
    });
    if (!res.ok) throw failure(method, res.status, await res.json().catch(() => ({})));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let last = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffered += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line);
        if (msg.error) throw msg.error;
        if (onLine) onLine(msg);
        last = msg;
      }
      if (done) break;
    }
    return last;
  }

  // Saves bytes the API returned (base64, protobuf's JSON form of `bytes`).
  function saveBase64(base64, filename, type) {
    const raw = atob(base64 || '');
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const url = URL.createObjectURL(new Blob([bytes], { type: type || 'application/octet-stream' }));
    const a = el('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  const kinds = {
    CITY_FEDERATION: '市总工会', DEV_ZONE_FEDERATION: '开发区总工会', DISTRICT_FEDERATION: '区（县）市总工会',
    INDUSTRY_UNION: '市产业（系统）工会', CITY_DIRECT_GRASSROOTS: '市总直属基层工会',
    TOWNSHIP_FEDERATION: '乡镇（街道）工会联合会', PARK_FEDERATION: '县（区）属开发区（产业园区）工会联合会',
    JOINT_GRASSROOTS: '基层联合工会', INDEPENDENT_GRASSROOTS: '基层法人独立工会', VILLAGE_JOINT: '村（社区）联合工会',
  };
  const grassroots = ['CITY_DIRECT_GRASSROOTS', 'JOINT_GRASSROOTS', 'INDEPENDENT_GRASSROOTS', 'VILLAGE_JOINT'];
  const roles = { DATA_ADMIN: '信息管理员', REVIEWER: '审核查看员', UNIT_LEADER: '单位负责人', OPERATOR: '运维人员' };
  const credentials = {
    CREDENTIAL_INITIAL: '未激活（初始密码）', CREDENTIAL_ACTIVE: '正常', CREDENTIAL_RESET: '已重置，待修改', CREDENTIAL_DISABLED: '已停用',
  };

  // Views register themselves: name -> {title, roles, load, grassrootsOnly,
  // parentOnly, rootOnly (the city, whose node is the hub), nodeOnly}. The menu lists the ones the account may open.
  const views = {};
  function view(name, spec) { views[name] = spec; }
  function allowed(spec) {
    const who = state.who;
    if (!who || spec.roles.indexOf(who.role) < 0) return false;
    const leaf = !!state.org && grassroots.indexOf(state.org.kind) >= 0;
    if (spec.grassrootsOnly && !leaf) return false;
    if (spec.parentOnly && leaf) return false;
    if (spec.rootOnly && !(state.org && !state.org.parentId)) return false;
    if (spec.nodeOnly && who.orgId !== who.nodeId) return false;
    return true;
  }

  return {
    $, state, api, headers, failure, show, text, showAlert, fmt, date, el, cell, button, clear,
    cellErrors, upload, saveBase64, kinds, grassroots, roles, credentials, views, view, allowed, onLoggedOut: null,
  };
})();
