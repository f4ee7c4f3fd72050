// Runs the mnist-lab command line from src/ (through tsx), so the ablation tests do not depend on a fresh dist/.
import { main } from '../src/cli/main';
import { formatError } from '../src/cli/errors';

main(['node', 'mnist-lab', ...process.argv.slice(2)]).catch((error: unknown) => {
  console.error(formatError(error));
  process.exit(1);
});
