export * from '../../shared/readLimited';
