import { BoundedLabels } from './bounded-labels';

describe('BoundedLabels', () => {
  it('gives the first values their own label, later ones the overflow value', () => {
    const labels = new BoundedLabels(2, '(other)');
    expect(labels.labelFor('orders')).toBe('orders');
    expect(labels.labelFor('payments')).toBe('payments');
    expect(labels.labelFor('audit')).toBe('(other)');
    expect(labels.labelFor('orders')).toBe('orders');
    expect(labels.values()).toEqual(['orders', 'payments']);
  });

  it('frees slots of released values for the next new value', () => {
    const labels = new BoundedLabels(2, '(other)');
    labels.labelFor('orders');
    labels.labelFor('payments');
    expect(labels.releaseUnless((value) => value !== 'orders')).toEqual(['orders']);
    expect(labels.labelFor('audit')).toBe('audit');
    expect(labels.labelFor('orders')).toBe('(other)');
  });

  it('with no room labels everything as overflow', () => {
    expect(new BoundedLabels(0, '(other)').labelFor('orders')).toBe('(other)');
    expect(() => new BoundedLabels(-1, '(other)')).toThrow(RangeError);
  });
});
