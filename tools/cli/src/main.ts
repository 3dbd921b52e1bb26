process.stderr.write('starlane: not built yet\n'); process.exitCode = 2;
