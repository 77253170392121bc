// autofollow under PM2 (README "Running it as a service"): `pm2 start deploy/ecosystem.config.cjs`
// from the checkout, after `npm ci` and with the settings in .env there (or in the environment).
// Logs are JSON lines on stderr, so PM2 keeps them in its error log (`pm2 logs autofollow`).
const path = require('node:path');

module.exports = {
  apps: [
    {
      name: 'autofollow',
      cwd: path.join(__dirname, '..'), // where .env is read from
      script: 'bin/autofollow.js',
      args: 'serve',
      // Run the script itself (its #!/usr/bin/env node line), not through PM2's require wrapper:
      // autofollow is an ES module, and the signal must reach it directly.
      interpreter: 'none',
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      restart_delay: 5000,
      min_uptime: '10s',
      max_restarts: 10,
      // PM2 sends SIGINT on stop, then SIGKILL after kill_timeout (ms). serve waits up to 30 s (its
      // shutdown grace) for the current work, then closes HTTP and the pool: give it all of that.
      kill_timeout: 60000,
    },
  ],
};
