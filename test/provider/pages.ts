// Pages of the test provider, in place of the defaults, which log a notice on stdout and load a remote font.
const page = (title: string, body: string) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

const escapeHtml = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface PageContext {
  type: string;
  body: unknown;
}

export const deviceFlowPages = {
  async userCodeInputSource(ctx: PageContext, form: string, _out: unknown, err?: { name?: string }) {
    const message = err
      ? `<p class="error">${escapeHtml(err.name ?? 'error')}: try again</p>`
      : '<p>Enter the code displayed on your device</p>';
    ctx.body = page('Sign-in', `${message}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
  },
  async userCodeConfirmSource(ctx: PageContext, form: string, _client: unknown, _device: unknown, userCode: string) {
    ctx.body = page(
      'Confirm Device',
      `<p>The following code should be displayed on your device: <code>${escapeHtml(userCode)}</code></p>${form}` +
        '<button type="submit" form="op.deviceConfirmForm">Continue</button>' +
        '<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>',
    );
  },
  async successSource(ctx: PageContext) {
    ctx.body = page('Sign-in Success', '<p>Your sign-in was successful, you can now close this page.</p>');
  },
};

export const logoutPages = {
  async logoutSource(ctx: PageContext, form: string) {
    ctx.body = page(
      'Sign out?',
      `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>` +
        '<button type="submit" form="op.logoutForm">No, stay signed in</button>',
    );
  },
  async postLogoutSuccessSource(ctx: PageContext) {
    ctx.body = page('Sign-out Success', '<p>Your sign-out was successful.</p>');
  },
};

export async function errorPage(ctx: PageContext, out: Record<string, unknown>) {
  ctx.type = 'html';
  const details = Object.entries(out).map(([k, v]) => `<pre><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</pre>`);
  ctx.body = page('oops! something went wrong', details.join(''));
}
