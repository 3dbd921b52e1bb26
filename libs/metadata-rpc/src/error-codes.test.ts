/**
 * Ties the error catalogue (@starlane/model, which may not see proto) to the proto `ErrorCode`
 * enum (proto/starlane/v1/common.proto): one name, one number, on both sides.
 */
import { errorCatalogue, isErrorCode, type ErrorCode } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { errorCodeFromProto, errorCodeToProto } from './codec';

/** Proto values >= this are Starlane's own; below it a value is Kafka's number (common.proto). */
const starlaneWireCodeMin = 1000;

const catalogueCodes = Object.keys(errorCatalogue) as ErrorCode[];
/** The enum's names and numbers, without ts-enum's reverse (number -> name) entries. */
const enumEntries = Object.entries(v1.ErrorCode).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
const enumValueOf = new Map(enumEntries);
/** NONE is "no error", not an error: the catalogue has no entry for it (undefined in TypeScript). */
const noErrorNames = ['NONE'];

describe('error catalogue and proto ErrorCode', () => {
  it('gives every catalogue code an enum value of the same name', () => {
    expect(catalogueCodes.filter((code) => !enumValueOf.has(code))).toEqual([]);
  });

  it('gives every enum value other than NONE a catalogue entry of the same name', () => {
    const names = enumEntries.map(([name]) => name).filter((name) => !noErrorNames.includes(name));
    expect(names.filter((name) => !isErrorCode(name))).toEqual([]);
    expect(v1.ErrorCode.NONE).toBe(0);
  });

  it("agrees with the enum on Kafka's error code wherever the enum carries one", () => {
    const disagreements = catalogueCodes.flatMap((code) => {
      const value = enumValueOf.get(code);
      if (value === undefined || value >= starlaneWireCodeMin) return [];
      const kafkaCode = errorCatalogue[code].kafkaCode;
      return kafkaCode === value ? [] : [{ code, catalogue: kafkaCode, proto: value }];
    });
    expect(disagreements).toEqual([]);
  });

  it("answers Kafka clients of a Starlane-only value with nothing or another code's Kafka number", () => {
    const kafkaValues = new Set(enumEntries.map(([, value]) => value).filter((value) => value < starlaneWireCodeMin));
    const stray = catalogueCodes.filter((code) => {
      const value = enumValueOf.get(code);
      const kafkaCode = errorCatalogue[code].kafkaCode;
      return value !== undefined && value >= starlaneWireCodeMin && kafkaCode !== null && !kafkaValues.has(kafkaCode);
    });
    expect(stray).toEqual([]);
  });

  it('translates every catalogue code to the enum value of its name', () => {
    const wrong = catalogueCodes.filter((code) => errorCodeToProto(code) !== enumValueOf.get(code));
    expect(wrong).toEqual([]);
    expect(errorCodeToProto(undefined)).toBe(v1.ErrorCode.NONE);
  });

  it('round-trips every catalogue code through proto', () => {
    const lost = catalogueCodes.filter((code) => errorCodeFromProto(errorCodeToProto(code)) !== code);
    expect(lost).toEqual([]);
  });

  it('reads NONE as no error and a value it does not know as UNKNOWN_SERVER_ERROR', () => {
    expect(errorCodeFromProto(v1.ErrorCode.NONE)).toBeUndefined();
    const unknownValue = Math.max(...enumEntries.map(([, value]) => value)) + 1;
    expect(errorCodeFromProto(unknownValue as v1.ErrorCode)).toBe('UNKNOWN_SERVER_ERROR');
  });
});
