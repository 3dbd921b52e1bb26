import { errorText, transportDetail } from './error-text';
import { StarlaneError } from './errors';

/** A system error as Node's fs raises it: message already starts with the errno name. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, errno: -1, syscall: 'mkdir' });
}

describe('errorText', () => {
  it('names the errno of a Node system error once', () => {
    expect(errorText(systemError('EPERM', "operation not permitted, mkdir '/x'"))).toBe("EPERM: operation not permitted, mkdir '/x'");
  });

  it('adds the errno name where the message does not start with it', () => {
    expect(errorText(Object.assign(new Error('not a directory, /a/file'), { code: 'ENOTDIR' }))).toBe('ENOTDIR: not a directory, /a/file');
  });

  it('leaves other errors and values as they are', () => {
    expect(errorText(new StarlaneError('STORAGE_UNAVAILABLE', 'disk gone'))).toBe('disk gone');
    expect(errorText(Object.assign(new Error('14 UNAVAILABLE: down'), { code: 14 }))).toBe('14 UNAVAILABLE: down');
    expect(errorText('plain')).toBe('plain');
    expect(errorText(undefined)).toBe('undefined');
  });
});

describe('transportDetail', () => {
  it.each([
    ['No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9091. Resolution note: ', 'connect ECONNREFUSED 127.0.0.1:9091'],
    ['14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: ', 'connect ECONNREFUSED 127.0.0.1:9'],
    ['No connection established. Last error: connect ECONNREFUSED [::1]:9091', 'connect ECONNREFUSED [::1]:9091'],
    ['No addresses resolved. Resolution note: DNS resolution failed for nowhere.invalid', 'No addresses resolved (DNS resolution failed for nowhere.invalid)'],
    ['Deadline exceeded after 5.001s', 'Deadline exceeded after 5.001s'],
    ['topic orders does not exist', 'topic orders does not exist'],
    ['No connection established', 'No connection established'],
    [
      'controller at 127.0.0.1:9091: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9091. Resolution note: ',
      'controller at 127.0.0.1:9091: connect ECONNREFUSED 127.0.0.1:9091',
    ],
  ])('%j reads %j', (details, expected) => {
    expect(transportDetail(details)).toBe(expected);
    expect(transportDetail(details)).not.toMatch(/Resolution note|Last error/);
  });
});
