// Runs `xdp-lens debug-adapter` from the sources (the DAP test client starts `node <file>` with no arguments).
process.argv.splice(2, 0, 'debug-adapter');
void import('../../simulator/cli.ts');
