import AjvCompiler from "@fastify/ajv-compiler";
import SerializerSelector from "@fastify/fast-json-stringify-compiler";

declare module "fastify" {
  interface FastifyInstance {
    /** Compiles every route's schemas now (they compile when first used); returns how many were left. */
    compileAllSchemas(): number;
  }
}

type ValidatorFactory = ReturnType<typeof AjvCompiler>;
type ValidatorCompile = ReturnType<ValidatorFactory>;
type Validate = ReturnType<ValidatorCompile>;
type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for answers), each route's
 * functions compiled when the route is first used rather than all at start-up: compiled, the
 * schemas of Mamori's ~120 routes hold about 20 MiB, and a shop's traffic uses a few of them.
 * `compileAll()` compiles every one now (the tests do, so a schema that does not compile fails a
 * test, not a customer's first request).
 */
export class LazySchemas {
  readonly #pending = new Set<() => void>();

  /** For Fastify's `schemaController.compilersFactory`. */
  readonly compilersFactory: { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory } = {
    buildValidator: this.#lazyValidators(AjvCompiler()),
    buildSerializer: this.#lazySerializers(SerializerSelector()),
  };

  /** Compiles every schema not compiled yet, and says how many; throws what a compilation throws. */
  compileAll(): number {
    const pending = [...this.#pending];
    for (const compile of pending) compile();
    return pending.length;
  }

  /** `make` run once, on the first call of what this returns; until then `compileAll` can run it. */
  #once<T>(make: () => T): () => T {
    let made: { value: T } | undefined;
    const compile = (): T => {
      made ??= { value: make() };
      this.#pending.delete(compile);
      return made.value;
    };
    this.#pending.add(compile);
    return compile;
  }

  /** A compiler factory whose compilers make `wrap(compile)`: `compile` runs on the first call. */
  #lazy<Args extends unknown[], Route, Compiled>(
    build: (...args: Args) => (route: Route) => Compiled,
    wrap: (compile: () => Compiled) => Compiled,
  ): (...args: Args) => (route: Route) => Compiled {
    return (...args) => {
      const compileRoute = build(...args);
      return (route) => wrap(this.#once(() => compileRoute(route)));
    };
  }

  #lazyValidators(build: ValidatorFactory): ValidatorFactory {
    return this.#lazy(build, (compile) => {
      // Fastify reads `errors` off the function it called, after the call.
      const validate = (data: unknown) => {
        const validator = compile();
        const result = validator(data);
        lazy.errors = validator.errors;
        return result;
      };
      // The wrapper stands in for Ajv's function: Fastify calls it and reads `errors`, nothing else.
      const lazy = validate as unknown as Validate;
      return lazy;
    });
  }

  #lazySerializers(build: SerializerFactory): SerializerFactory {
    return this.#lazy(build, (compile) => (document: unknown) => compile()(document));
  }
}
